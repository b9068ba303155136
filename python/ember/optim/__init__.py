"""ember.optim: SGD, Adam, AdamW, Adamax, RAdam, NAdam, RMSprop, Adagrad, Adadelta,
Rprop, ASGD, Adafactor, SparseAdam and LBFGS,
updating parameters in place under no_grad, and the common learning-rate
schedulers in ember.optim.lr_scheduler."""

from . import lr_scheduler, swa_utils  # noqa: F401
from .adafactor import Adafactor, SparseAdam  # noqa: F401
from .lbfgs import LBFGS  # noqa: F401
from .optimizers import (  # noqa: F401
    ASGD,
    SGD,
    Adadelta,
    Adagrad,
    Adam,
    Adamax,
    AdamW,
    NAdam,
    Optimizer,
    RAdam,
    RMSprop,
    Rprop,
)
