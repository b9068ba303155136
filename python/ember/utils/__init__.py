"""ember.utils: data loading (ember.utils.data), activation checkpointing
(ember.utils.checkpoint), DLPack exchange, safetensors files and TensorBoard
event files (ember.utils.tensorboard), as torch.utils."""

from . import checkpoint, data, dlpack, safetensors, tensorboard  # noqa: F401
