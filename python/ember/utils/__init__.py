"""ember.utils: data loading (ember.utils.data), activation checkpointing
(ember.utils.checkpoint), DLPack exchange and safetensors files, as torch.utils."""

from . import checkpoint, data, dlpack, safetensors  # noqa: F401
