"""torch.cpu's device questions, and control of Ember's CPU buffer cache.

Ember keeps freed tensor buffers for reuse (docs/architecture.md, "Memory").
``empty_cache()`` hands every cached buffer back to the system now, as
``torch.cuda.empty_cache()`` does for CUDA's cache; ``memory_stats()`` reports
what is in use and what is cached. The cache's cap is set with the
``EMBER_CPU_CACHE_MB`` environment variable before Ember is imported.
"""

from . import _C

__all__ = [
    "current_device",
    "device_count",
    "empty_cache",
    "is_available",
    "memory_stats",
    "synchronize",
]


def is_available():
    """The CPU is always available."""
    return True


def device_count():
    return 1


def current_device():
    return "cpu"


def synchronize(device=None):
    """CPU kernels finish before they return: nothing to wait for."""


def empty_cache():
    """Returns every buffer Ember's allocator keeps cached to the system."""
    _C._empty_cache()


def memory_stats():
    """Bytes and buffers held by live tensors, bytes cached for reuse, and the cap."""
    stats = _C._buffer_stats()
    return {
        "allocated_bytes": stats["live_bytes"],
        "allocated_buffers": stats["live_buffers"],
        "cached_bytes": stats["cached_bytes"],
        "cache_limit_bytes": stats["cache_limit"],
    }
