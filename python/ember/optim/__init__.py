"""ember.optim: SGD and Adam, updating parameters in place under no_grad."""

from .optimizers import SGD, Adam, Optimizer  # noqa: F401
