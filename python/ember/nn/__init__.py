"""ember.nn: parameters, modules and losses."""

from . import functional, init  # noqa: F401
from .modules import (  # noqa: F401
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    Dropout,
    Identity,
    Linear,
    Module,
    MSELoss,
    Parameter,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
)
