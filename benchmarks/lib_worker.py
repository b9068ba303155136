"""One library in its own process, serving the timing of run.py's workloads.

    python benchmarks/lib_worker.py LIB THREADS

run.py starts one worker per library and thread count and alternates its
requests between them, so each library is timed in a process of its own (no
thread pool of the other library lives in it) while both still see the same
machine state, repeat by repeat. Requests and replies are pickled over stdin
and the worker's original stdout; anything a library prints goes to stderr:

    ("setup", workload_name, warmups) -> {"n", "per", "first", "err"}
    ("time", n)                       -> seconds for n steps
    ("drop",)                         -> None (the step and its tensors freed)
"""

import gc
import importlib
import os
import pickle
import sys
import time

import numpy as np

MIN_TIMING = 0.02  # seconds per timed inner loop


def timed(step, n):
    gcold = gc.isenabled()
    gc.disable()
    try:
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        return time.perf_counter() - t0
    finally:
        if gcold:
            gc.enable()


def calibrate(step):
    """Inner loop count so that one timing takes >= MIN_TIMING, and the time per step."""
    n = 1
    while True:
        t = timed(step, n)
        if t >= MIN_TIMING:
            return n, t / n
        # aim a bit above the threshold
        n = max(n * 2, int(n * MIN_TIMING * 1.3 / max(t, 1e-9)))


def to_numpy(v):
    if isinstance(v, (float, int)):
        return np.asarray(v)
    return np.asarray(v.detach().numpy() if hasattr(v, "detach") else v)


def first_line(e):
    return "{}: {}".format(type(e).__name__, str(e).splitlines()[0] if str(e) else "")


def serve(lib_name, threads):
    lib = importlib.import_module(lib_name)
    lib.set_num_threads(threads)
    import workloads

    by_name = {name: (data_fn, setup_fn) for name, data_fn, setup_fn, _ in workloads.WORKLOADS}
    requests = sys.stdin.buffer
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # prints of the library or a workload must not corrupt the replies
    step = None
    while True:
        try:
            request = pickle.load(requests)
        except EOFError:
            return
        kind = request[0]
        if kind == "setup":
            _, name, warmups = request
            data_fn, setup_fn = by_name[name]
            try:
                step = setup_fn(lib, data_fn(np.random.default_rng(0)))
                first = to_numpy(step())  # warm-up and the sanity value
                for _ in range(warmups - 1):
                    step()
                n, per = calibrate(step)
                if n > 1:  # fast step: the calibration doubled as warm-up; redo it warm
                    n, per = calibrate(step)
                reply = {"n": n, "per": per, "first": first, "err": None}
            except Exception as e:  # noqa: BLE001 - reported in the table
                step = None
                reply = {"n": None, "per": None, "first": None, "err": first_line(e)}
        elif kind == "time":
            try:
                reply = timed(step, request[1])
            except Exception as e:  # noqa: BLE001
                reply = first_line(e)
        else:  # "drop"
            step = None
            gc.collect()
            reply = None
        pickle.dump(reply, replies)
        replies.flush()


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]))
