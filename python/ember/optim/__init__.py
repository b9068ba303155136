"""ember.optim: SGD, Adam, AdamW and RMSprop, updating parameters in place under no_grad."""

from .optimizers import SGD, Adam, AdamW, Optimizer, RMSprop  # noqa: F401
