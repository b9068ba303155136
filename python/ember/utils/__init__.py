"""ember.utils: data loading (ember.utils.data), activation checkpointing
(ember.utils.checkpoint) and DLPack exchange, as torch.utils."""

from . import checkpoint, data, dlpack  # noqa: F401
