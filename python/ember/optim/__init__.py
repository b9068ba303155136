"""ember.optim: SGD, Adam, AdamW, RMSprop, Adagrad and Adadelta, updating parameters in
place under no_grad, and the common learning-rate schedulers in ember.optim.lr_scheduler."""

from . import lr_scheduler  # noqa: F401
from .lbfgs import LBFGS  # noqa: F401
from .optimizers import SGD, Adadelta, Adagrad, Adam, AdamW, Optimizer, RMSprop  # noqa: F401
