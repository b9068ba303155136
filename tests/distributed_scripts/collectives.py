"""Run under mpiexec -n N: every collective of ember.distributed against NumPy.

Each rank knows what every rank contributes (a function of the rank), so each
checks its own result against the NumPy answer. Any failure raises, which
aborts the whole job (a non-zero exit for the test to see). Rank 0 prints
"collectives ok N" at the end.
"""

import sys
import threading
import time

import ember
import ember.distributed as dist
import numpy as np

dist.init_process_group(backend="mpi")
rank, size = dist.get_rank(), dist.get_world_size()
assert dist.is_initialized() and dist.get_backend() == "mpi"
assert size == int(sys.argv[1]), (size, sys.argv)


def data(r, dtype=np.float64, shape=(2, 3)):
    """Rank r's input: distinct per rank, exact in every dtype."""
    n = int(np.prod(shape))
    if dtype == np.bool_:
        return ((np.arange(n) + r) % 3 == 0).reshape(shape)
    return ((np.arange(n) % 5 + 1) * (r + 2) - 3 * r).astype(dtype).reshape(shape)


def every(dtype=np.float64, shape=(2, 3)):
    return np.stack([data(r, dtype, shape) for r in range(size)])


def check(got, want, what):
    got = got.numpy() if isinstance(got, ember.Tensor) else np.asarray(got)
    if got.shape != np.shape(want) or not np.allclose(got, want, rtol=1e-6, atol=0):
        raise AssertionError(f"rank {rank}: {what}: got {got!r}, want {want!r}")


def expect_error(exc_type, message, fn):
    try:
        fn()
    except exc_type as exc:
        if message not in str(exc):
            raise AssertionError(f"rank {rank}: wrong message {exc!r}, want {message!r}") from exc
        return
    raise AssertionError(f"rank {rank}: no {exc_type.__name__} ({message})")


# ----- all_reduce, every op and dtype, in place with no copy ------------------------
ops = {
    dist.ReduceOp.SUM: lambda a: a.sum(0),
    dist.ReduceOp.PRODUCT: lambda a: a.prod(0),
    dist.ReduceOp.MIN: lambda a: a.min(0),
    dist.ReduceOp.MAX: lambda a: a.max(0),
    dist.ReduceOp.AVG: lambda a: a.mean(0),
}
for dtype in (np.float32, np.float64, np.int64):
    for op, ref in ops.items():
        if op == dist.ReduceOp.AVG and dtype == np.int64:
            continue
        t = ember.from_numpy(data(rank, dtype).copy())
        view, ptr = t.numpy(), t.data_ptr()
        dist.all_reduce(t, op=op)
        check(t, ref(every(dtype)), f"all_reduce {op} {dtype.__name__}")
        assert t.data_ptr() == ptr and np.array_equal(view, t.numpy()), "all_reduce copied"
for op, ref in {
    dist.ReduceOp.BAND: np.bitwise_and.reduce,
    dist.ReduceOp.BOR: np.bitwise_or.reduce,
    dist.ReduceOp.BXOR: np.bitwise_xor.reduce,
}.items():
    t = ember.from_numpy(data(rank, np.int64).copy())
    dist.all_reduce(t, op=op)
    check(t, ref(every(np.int64), axis=0), f"all_reduce {op}")
b = ember.from_numpy(data(rank, np.bool_).copy())
dist.all_reduce(b, op=dist.ReduceOp.SUM)  # bool sum is logical or, as torch's
check(b, every(np.bool_).any(0), "all_reduce bool")
b = ember.from_numpy(data(rank, np.bool_).copy())
dist.all_reduce(b, op=dist.ReduceOp.MIN)
check(b, every(np.bool_).all(0), "all_reduce bool min")
# a leaf that requires grad is reduced in place too (no graph)
w = ember.from_numpy(data(rank).copy()).requires_grad_()
dist.all_reduce(w)
check(w.detach(), every().sum(0), "all_reduce requires_grad")
# a 0-dim tensor and an empty one
s = ember.tensor(float(rank + 1))
dist.all_reduce(s)
check(s, np.float32(size * (size + 1) / 2), "all_reduce 0-dim")
e = ember.empty(0)
dist.all_reduce(e)

# ----- broadcast, reduce ------------------------------------------------------------
for src in range(size):
    t = ember.from_numpy(data(rank).copy())
    dist.broadcast(t, src=src)
    check(t, data(src), f"broadcast from {src}")
t = ember.from_numpy(data(rank).copy())
dist.reduce(t, dst=size - 1, op=dist.ReduceOp.MAX)
check(t, every().max(0) if rank == size - 1 else data(rank), "reduce")

# ----- gathers and scatters ---------------------------------------------------------
outs = [ember.zeros(2, 3, dtype=ember.float64) for _ in range(size)]
dist.all_gather(outs, ember.from_numpy(data(rank)))
for r, o in enumerate(outs):
    check(o, data(r), f"all_gather [{r}]")
out = ember.zeros(size * 2, 3, dtype=ember.float64)
ptr = out.data_ptr()
dist.all_gather_into_tensor(out, ember.from_numpy(data(rank)))
check(out, every().reshape(size * 2, 3), "all_gather_into_tensor (concatenated)")
assert out.data_ptr() == ptr
out = ember.zeros(size, 2, 3, dtype=ember.float64)
dist.all_gather_into_tensor(out, ember.from_numpy(data(rank)))
check(out, every(), "all_gather_into_tensor (stacked)")

full = ember.from_numpy(data(rank, shape=(size * 2, 3)).copy())
mine = ember.zeros(2, 3, dtype=ember.float64)
dist.reduce_scatter_tensor(mine, full)
check(mine, every(shape=(size * 2, 3)).sum(0)[2 * rank : 2 * rank + 2], "reduce_scatter_tensor")
dist.reduce_scatter_tensor(mine, full, op=dist.ReduceOp.AVG)
check(mine, every(shape=(size * 2, 3)).mean(0)[2 * rank : 2 * rank + 2], "reduce_scatter AVG")
parts = [ember.from_numpy(data(rank * size + i)) for i in range(size)]
dist.reduce_scatter(mine, parts)
check(mine, sum(data(r * size + rank) for r in range(size)), "reduce_scatter")

dst = size - 1
gl = [ember.zeros(2, 3, dtype=ember.float64) for _ in range(size)] if rank == dst else None
dist.gather(ember.from_numpy(data(rank)), gl, dst=dst)
if rank == dst:
    for r, o in enumerate(gl):
        check(o, data(r), f"gather [{r}]")
got = ember.zeros(2, 3, dtype=ember.float64)
sl = [ember.from_numpy(data(10 + r)) for r in range(size)] if rank == 0 else None
dist.scatter(got, sl, src=0)
check(got, data(10 + rank), "scatter")

# all_to_all_single: equal splits, then uneven splits
inp = ember.arange(size * 2, dtype=ember.float64) + 100 * rank
out = ember.zeros(size * 2, dtype=ember.float64)
dist.all_to_all_single(out, inp)
check(
    out, np.concatenate([np.arange(2 * rank, 2 * rank + 2) + 100 * r for r in range(size)]), "a2a"
)
in_splits = [r + 1 for r in range(size)]  # rank sends r+1 rows to rank r
inp = ember.ones(sum(in_splits), 2, dtype=ember.float64) * rank
out = ember.zeros(size * (rank + 1), 2, dtype=ember.float64)
dist.all_to_all_single(out, inp, [rank + 1] * size, in_splits)
check(out, np.repeat(np.arange(size, dtype=np.float64), rank + 1)[:, None].repeat(2, 1), "a2av")

# ----- point to point: a ring -------------------------------------------------------
if size > 1:
    right, left = (rank + 1) % size, (rank - 1) % size
    got = ember.zeros(2, 3, dtype=ember.float64)
    if rank % 2 == 0:
        dist.send(ember.from_numpy(data(rank)), dst=right)
        src = dist.recv(got, src=left)
    else:
        src = dist.recv(got)  # any source
        dist.send(ember.from_numpy(data(rank)), dst=right)
    check(got, data(left), "recv")
    assert src == left, (src, left)
    req = dist.irecv(got, src=left, tag=7)
    send_req = dist.isend(ember.from_numpy(data(rank) * 2), dst=right, tag=7)
    send_req.wait()
    req.wait()
    check(got, data(left) * 2, "irecv")

# ----- async work handles -----------------------------------------------------------
ts = [ember.from_numpy(data(rank).copy()) for _ in range(4)]
works = [dist.all_reduce(t, async_op=True) for t in ts]
works.append(dist.barrier(async_op=True))
for wk in works:
    assert wk.wait() is True
    assert wk.is_completed() and wk.is_success() and wk.exception() is None
for t in ts:
    check(t, every().sum(0), "async all_reduce")
assert works[0].result()[0] is ts[0]
t = ember.from_numpy(data(rank).copy())
fut = dist.all_reduce(t, async_op=True).get_future()
check(fut.wait()[0], every().sum(0), "future")
# async then sync on the same group: issue order is kept
a = ember.from_numpy(data(rank).copy())
wk = dist.all_reduce(a, async_op=True)
b = ember.from_numpy(data(rank).copy())
dist.all_reduce(b, op=dist.ReduceOp.MAX)
wk.wait()
check(a, every().sum(0), "async before sync")
check(b, every().max(0), "sync after async")

# ----- the GIL is released while a collective waits ---------------------------------
counter = [0]
stop = threading.Event()


def count():
    while not stop.is_set():
        counter[0] += 1


if rank == 0:
    time.sleep(0.3)  # the others wait in the barrier meanwhile
thread = threading.Thread(target=count)
thread.start()
dist.barrier()
stop.set()
thread.join()
if rank != 0:
    assert counter[0] > 1000, f"a Python thread ran {counter[0]} loops during the barrier"

# ----- groups -----------------------------------------------------------------------
sub = dist.new_group([0, size - 1] if size > 1 else [0])
if size > 1 and rank in (0, size - 1):
    assert dist.get_world_size(sub) == 2 and dist.get_rank(sub) == (0 if rank == 0 else 1)
    assert dist.get_process_group_ranks(sub) == [0, size - 1]
    assert dist.get_global_rank(sub, 1) == size - 1 and dist.get_group_rank(sub, size - 1) == 1
    t = ember.from_numpy(data(rank).copy())
    dist.all_reduce(t, group=sub)
    check(t, data(0) + data(size - 1), "all_reduce in a group")
    t = ember.from_numpy(data(rank).copy())
    dist.broadcast(t, src=size - 1, group=sub)  # src is a global rank, as torch's
    check(t, data(size - 1), "broadcast in a group")
elif size > 1:
    assert sub is dist.GroupMember.NON_GROUP_MEMBER
    assert dist.get_rank(sub) == -1 and dist.get_world_size(sub) == -1
everyone = dist.new_group()
t = ember.from_numpy(data(rank).copy())
dist.all_reduce(t, group=everyone)
check(t, every().sum(0), "all_reduce in new_group()")
dist.destroy_process_group(everyone)

# ----- objects ----------------------------------------------------------------------
objs = [None] * size
dist.all_gather_object(objs, {"rank": rank, "name": f"r{rank}"})
assert objs == [{"rank": r, "name": f"r{r}"} for r in range(size)], objs
lst = [rank, "x"] if rank == size - 1 else [None, None]
dist.broadcast_object_list(lst, src=size - 1)
assert lst == [size - 1, "x"], lst
gathered = [None] * size if rank == 0 else None
dist.gather_object(rank * 10, gathered, dst=0)
if rank == 0:
    assert gathered == [r * 10 for r in range(size)], gathered
out_list = [None]
dist.scatter_object_list(out_list, [f"to {r}" for r in range(size)] if rank == 0 else None, src=0)
assert out_list == [f"to {rank}"], out_list

# ----- refusals (before any communication, so every rank just checks) ---------------
x = ember.zeros(4, 4)
expect_error(RuntimeError, "input tensor has to be contiguous", lambda: dist.all_reduce(x.t()))
expect_error(RuntimeError, "input tensor has to be contiguous", lambda: dist.broadcast(x[:, :2], 0))
expect_error(
    RuntimeError,
    "All gather: number of output tensors should equal to the world size",
    lambda: dist.all_gather([ember.zeros(4, 4)] * (size + 1), x),
)
expect_error(
    RuntimeError,
    "Tensors are not equal in size or data type",
    lambda: dist.all_gather([ember.zeros(3)] * size, x),
)
expect_error(
    RuntimeError,
    "Tensors are not equal in size or data type",
    lambda: dist.all_gather([ember.zeros(4, 4, dtype=ember.float64)] * size, x),
)
expect_error(
    RuntimeError,
    "output tensor size must be equal to world_size times input tensor size",
    lambda: dist.all_gather_into_tensor(ember.zeros(size * 4 + 1, 4), x),
)
expect_error(
    RuntimeError,
    "input tensor must be the same size as output size times world size",
    lambda: dist.reduce_scatter_tensor(ember.zeros(3, 4), x),
)
expect_error(
    TypeError, "Expected parameter `tensor` of type torch.Tensor", lambda: dist.all_reduce([x])
)
expect_error(
    RuntimeError,
    "Cannot use ReduceOp.BAND with non-integral dtype",
    lambda: dist.all_reduce(x, op=dist.ReduceOp.BAND),
)
expect_error(
    ValueError,
    "destination rank should not be the same as the rank of the current process",
    lambda: dist.send(x, dst=rank),
)
expect_error(
    ValueError,
    "must be specified on destination rank" if rank == 0 else "must NOT be specified",
    lambda: dist.gather(x, None if rank == 0 else [x] * size, dst=0),
)
expect_error(
    RuntimeError,
    "Gather: number of output tensors should equal to the world size",
    lambda: dist.gather(x, [x] * (size + 1), dst=rank),
)
expect_error(
    RuntimeError,
    "Scatter: number of input tensors should equal to the world size",
    lambda: dist.scatter(x, [x] * (size + 1), src=rank),
)
expect_error(ValueError, "twice", lambda: dist.init_process_group("mpi"))

dist.barrier()
dist.destroy_process_group()
assert not dist.is_initialized()
if rank == 0:
    print(f"collectives ok {size}", flush=True)
