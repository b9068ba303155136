"""torch.multiprocessing for Ember: Python's multiprocessing, plus spawn() and
the sharing-strategy questions scripts ask.

Tensors moved into shared memory (Tensor.share_memory_(), Module.share_memory())
are shared with processes started afterwards by fork, the default start method
on Linux (Note [Shared memory]): Hogwild training runs as with torch. A process
started by spawn receives copies of its tensor arguments.
"""

import multiprocessing as _mp
from multiprocessing import *  # noqa: F403 - torch.multiprocessing re-exports it

__all__ = [*_mp.__all__, "spawn", "get_sharing_strategy", "set_sharing_strategy"]

_STRATEGIES = {"file_descriptor", "file_system"}
_strategy = "file_descriptor"


def get_all_sharing_strategies():
    return set(_STRATEGIES)


def get_sharing_strategy():
    return _strategy


def set_sharing_strategy(new_strategy):
    global _strategy
    if new_strategy not in _STRATEGIES:
        raise AssertionError(f"unknown sharing strategy {new_strategy!r}")
    _strategy = new_strategy


class ProcessRaisedException(Exception):
    """A process started by spawn() failed; the message holds its traceback."""


def _run(fn, index, args, errors):
    try:
        fn(index, *args)
    except BaseException:  # report any failure to the parent, as torch's spawn does
        import traceback

        errors.put((index, traceback.format_exc()))
        raise


def spawn(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    """Runs fn(i, *args) in nprocs new processes, i = 0 .. nprocs - 1.

    With join, waits for all and raises ProcessRaisedException naming the first
    process that failed; otherwise returns the processes.
    """
    context = _mp.get_context(start_method)
    errors = context.SimpleQueue()
    processes = []
    for i in range(nprocs):
        p = context.Process(target=_run, args=(fn, i, args, errors), daemon=daemon)
        p.start()
        processes.append(p)
    if not join:
        return processes
    for p in processes:
        p.join()
    if not errors.empty():
        index, trace = errors.get()
        raise ProcessRaisedException(
            f"\n\n-- Process {index} terminated with the following error:\n{trace}"
        )
    return None
