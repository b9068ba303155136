"""ember.utils: data loading (ember.utils.data) and DLPack exchange, as torch.utils."""

from . import data, dlpack  # noqa: F401
