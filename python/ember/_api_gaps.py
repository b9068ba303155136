"""Small torch forms that real scripts use, installed into the ember namespace."""

from . import _C
from ._multinomial import multinomial


def install(namespace):
    namespace["multinomial"] = multinomial
    _C.Tensor.multinomial = multinomial
