"""ember.utils: data loading (ember.utils.data), DLPack exchange and safetensors files."""

from . import data, dlpack, safetensors  # noqa: F401
