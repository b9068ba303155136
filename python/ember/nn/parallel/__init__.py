"""ember.nn.parallel: DataParallel (one CPU: the module itself runs) and
DistributedDataParallel (data-parallel over ember.distributed's MPI processes)."""

from ..modules import Module
from .distributed import DistributedDataParallel


class DataParallel(Module):
    """torch's DataParallel on a machine without GPUs: forwards to the wrapped module."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        self.module = module
        self.device_ids = []
        self.dim = dim
        self.output_device = None
        self.src_device_obj = None

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)


def data_parallel(module, inputs, device_ids=None, output_device=None, dim=0, module_kwargs=None):
    if not isinstance(inputs, tuple):
        inputs = (inputs,) if inputs is not None else ()
    return module(*inputs, **(module_kwargs or {}))


__all__ = ["DataParallel", "DistributedDataParallel", "data_parallel"]
