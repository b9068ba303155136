"""Run under mpiexec -n 2: rank 1 fails in the way argv[1] names while rank 0 waits in
an all-reduce. The job must end (non-zero) soon, with a message saying why.

- raise: rank 1 raises; its uncaught exception aborts the job.
- kill: rank 1 is killed by SIGKILL; mpiexec ends the job.
- hang: rank 1 never joins; rank 0's watchdog aborts after the 1 s timeout. First,
  rank 0's Work.wait(timeout=0.2) raises its own timeout error and goes on.
"""

import datetime
import os
import signal
import sys
import time

import ember
import ember.distributed as dist

mode = sys.argv[1]
dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=1))
rank = dist.get_rank()
t = ember.ones(4)
dist.all_reduce(t)  # everyone is up
if rank == 1:
    if mode == "raise":
        raise ValueError("rank 1 fails on purpose")
    if mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(60)  # hang: never joins
work = dist.all_reduce(t, async_op=True)
try:
    work.wait(timeout=0.2)
except RuntimeError as exc:
    print(f"rank 0 wait: {exc}", flush=True)
work.wait()
print("rank 0 finished an all-reduce without rank 1", flush=True)
