"""ember.distributed: torch.distributed's API, carried by MPI.

Launch a script on N processes with `mpiexec -n N python train.py` (add a host
file to span machines) and call `init_process_group(backend="mpi")`: ranks and
the world size come from MPI. The MPI library comes from the `distributed` extra
(`pip install "ember[distributed]"`: mpi4py and MPICH); importing this module
does not need it, `init_process_group` does.

Note [MPI process groups]
- Each process group owns a duplicated MPI communicator, so MPI traffic the
  script sends itself through mpi4py never matches Ember's.
- Collectives on one group run one at a time, in the order the script issued
  them, which is the same on every rank: a synchronous call runs on the calling
  thread when nothing is queued, otherwise (and always with `async_op=True`) the
  group's worker thread runs it. Either way mpi4py releases the GIL for the MPI
  call, so other Python threads (and the backward pass that DDP overlaps with
  its all-reduces) keep running.
- Buffers go to MPI as NumPy views of the tensors' own memory: in place, no copies
  (`all_gather` into a list and `scatter`/`gather` lists go through one flat buffer,
  as torch's MPI backend does).
- A watchdog thread ends the whole job (MPI_Abort) when an operation has run
  longer than its group's `timeout` (default 30 minutes, torch's), and an
  uncaught exception on any rank aborts the job as well: a rank that dies or
  raises never leaves the others waiting forever.
"""

import datetime
import enum
import importlib.util
import sys
import threading
import time
import warnings
from collections import deque

import numpy as np

from .. import _C

__all__ = [
    "Backend",
    "GroupMember",
    "ProcessGroup",
    "ReduceOp",
    "Work",
    "all_gather",
    "all_gather_into_tensor",
    "all_gather_object",
    "all_reduce",
    "all_to_all_single",
    "barrier",
    "broadcast",
    "broadcast_object_list",
    "default_pg_timeout",
    "destroy_process_group",
    "gather",
    "gather_object",
    "get_backend",
    "get_global_rank",
    "get_group_rank",
    "get_process_group_ranks",
    "get_rank",
    "get_world_size",
    "group",
    "init_process_group",
    "irecv",
    "is_available",
    "is_gloo_available",
    "is_initialized",
    "is_mpi_available",
    "is_nccl_available",
    "is_torchelastic_launched",
    "isend",
    "monitored_barrier",
    "new_group",
    "recv",
    "reduce",
    "reduce_scatter",
    "reduce_scatter_tensor",
    "scatter",
    "scatter_object_list",
    "send",
]

default_pg_timeout = datetime.timedelta(minutes=30)

_NOT_INITIALIZED = (
    "Default process group has not been initialized, please make sure to call init_process_group."
)
_INSTALL_HINT = (
    "Ember's MPI backend needs mpi4py and an MPI library: "
    'pip install "ember[distributed]" (mpi4py and mpich), then launch with mpiexec -n N'
)


# ----- availability ---------------------------------------------------------------


def is_available():
    """True: the API is always there; `init_process_group` needs the MPI extra."""
    return True


def is_mpi_available():
    return importlib.util.find_spec("mpi4py") is not None


def is_gloo_available():
    return False


def is_nccl_available():
    return False


def is_ucc_available():
    return False


def is_torchelastic_launched():
    return False


class Backend(str):
    """torch's backend names; Ember has only MPI."""

    UNDEFINED = "undefined"
    GLOO = "gloo"
    NCCL = "nccl"
    UCC = "ucc"
    MPI = "mpi"

    def __new__(cls, name):
        if not isinstance(name, str):
            raise ValueError(f"Backend constructor parameter must be string-ish, but got: {name}")
        value = name.lower()
        if value not in ("undefined", "gloo", "nccl", "ucc", "mpi"):
            raise AssertionError(f"Unknown backend type {name}")
        return str.__new__(cls, value)


# ----- ReduceOp ---------------------------------------------------------------------


class RedOpType(enum.IntEnum):
    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4
    BAND = 5
    BOR = 6
    BXOR = 7
    PREMUL_SUM = 8
    UNUSED = 9

    def __repr__(self):
        return f"<RedOpType.{self.name}: {self.value}>"

    __str__ = __repr__


class ReduceOp:
    """torch.distributed.ReduceOp: ReduceOp.SUM, .AVG, .PRODUCT, .MIN, .MAX, .BAND, .BOR, .BXOR."""

    RedOpType = RedOpType
    SUM = RedOpType.SUM
    AVG = RedOpType.AVG
    PRODUCT = RedOpType.PRODUCT
    MIN = RedOpType.MIN
    MAX = RedOpType.MAX
    BAND = RedOpType.BAND
    BOR = RedOpType.BOR
    BXOR = RedOpType.BXOR
    PREMUL_SUM = RedOpType.PREMUL_SUM
    UNUSED = RedOpType.UNUSED

    def __new__(cls, op=RedOpType.SUM):
        return RedOpType(op)


# ----- process groups ---------------------------------------------------------------


class _State:
    def __init__(self):
        self.mpi = None  # the mpi4py.MPI module once initialised
        self.world = None  # the default ProcessGroup
        self.groups = []  # every live group (the watchdog looks at them)
        self.watchdog = None
        self.hook_installed = False
        self.lock = threading.Lock()


_state = _State()


class _WorldMeta(type):
    @property
    def WORLD(cls):  # noqa: N802 - torch's name
        return _state.world


class GroupMember(metaclass=_WorldMeta):
    """GroupMember.WORLD (the default group) and NON_GROUP_MEMBER (what new_group
    returns on ranks outside the group)."""

    NON_GROUP_MEMBER = -100


group = GroupMember


def _seconds(timeout):
    if timeout is None:
        return None
    if isinstance(timeout, datetime.timedelta):
        return timeout.total_seconds()
    return float(timeout)


class Work:
    """The handle an `async_op=True` call returns (torch's Work): `wait()` blocks
    until the operation finished on this rank and raises what it raised."""

    def __init__(self, name, run, outputs=None, group=None):
        self._name = name
        self._run_fn = run
        self._outputs = outputs or []
        self._group = group
        self._done = threading.Event()
        self._exception = None
        self._source = -1
        self.started = None  # time.monotonic() when it began to run

    def _run(self):
        self.started = time.monotonic()
        try:
            result = self._run_fn()
            if isinstance(result, int):
                self._source = result
        except BaseException as exc:  # noqa: BLE001 - handed to wait()
            self._exception = exc
        finally:
            self._done.set()

    def wait(self, timeout=None):
        """Blocks until done; True. `timeout` (a timedelta or seconds; 0 or None:
        the group's) raises RuntimeError when it passes first."""
        seconds = _seconds(timeout)
        if not seconds and self._group is not None:
            seconds = self._group._timeout
        if not self._done.wait(seconds or None):
            raise RuntimeError(
                f"[Rank {_world_rank()}] Timed out waiting {int(seconds * 1000)}ms for "
                f"{self._name} to complete"
            )
        if self._exception is not None:
            raise self._exception
        return True

    def is_completed(self):
        return self._done.is_set()

    def is_success(self):
        if not self._done.is_set():
            raise RuntimeError("Invalid call to Work::isSuccess before work has completed")
        return self._exception is None

    def exception(self):
        return self._exception

    def result(self):
        return list(self._outputs)

    def source_rank(self):
        return self._source

    def _source_rank(self):
        return self._source

    def get_future(self):
        return _Future(self)

    def synchronize(self):
        pass

    def __repr__(self):
        return f"<ember.distributed.Work {self._name}>"


class _Future:
    """The future of a Work (torch.futures.Future's common methods)."""

    def __init__(self, work):
        self._work = work

    def wait(self):
        self._work.wait()
        return self._work.result()

    def value(self):
        return self.wait()

    def done(self):
        return self._work.is_completed()

    def then(self, callback):
        done = _DoneFuture(callback(self))
        return done


class _DoneFuture:
    def __init__(self, value):
        self._value = value

    def wait(self):
        return self._value

    value = wait

    def done(self):
        return True


class ProcessGroup:
    """A group of ranks with its own MPI communicator and its own FIFO of operations."""

    def __init__(self, comm, ranks, timeout, name):
        self._comm = comm
        self._ranks = list(ranks)  # global ranks, by group rank
        self._timeout = timeout
        self._name = name
        self._lock = threading.Lock()
        self._cv = threading.Condition(self._lock)
        self._queue = deque()
        self._busy = False  # an operation is running (on the worker or a caller)
        self._running = None  # its name and start time, for the watchdog
        self._worker = None
        self._closed = False
        self._p2p = set()  # point-to-point works being waited for, for the watchdog

    def rank(self):
        return self._comm.Get_rank()

    def size(self):
        return len(self._ranks)

    def name(self):
        return self._name

    def group_name(self):
        return self._name

    def _get_backend_name(self):
        return "mpi"

    def __repr__(self):
        return f"<ember.distributed.ProcessGroup {self._name!r} ranks={self._ranks}>"

    # Note [MPI process groups]: one operation at a time, in issue order.
    def _issue(self, name, run, outputs, async_op):
        """Runs `run` now on this thread when nothing is queued or running, else after
        what is queued; an async op always goes to the worker and returns its Work."""
        if async_op:
            return self._enqueue(Work(name, run, outputs, self))
        with self._lock:
            if self._closed:
                raise RuntimeError("The process group has been destroyed")
            inline = not self._busy and not self._queue
            if inline:
                self._busy = True
                self._running = (name, time.monotonic())
        if not inline:
            self._enqueue(Work(name, run, outputs, self)).wait()
            return None
        try:
            run()
        finally:
            with self._lock:
                self._busy = False
                self._running = None
                if self._queue:
                    self._cv.notify_all()
        return None

    def _enqueue(self, work):
        with self._lock:
            if self._closed:
                raise RuntimeError("The process group has been destroyed")
            self._queue.append(work)
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._work_loop, name=f"ember-mpi-{self._name}", daemon=True
                )
                self._worker.start()
            self._cv.notify_all()
        return work

    def _work_loop(self):
        while True:
            with self._lock:
                while not self._closed and (self._busy or not self._queue):
                    self._cv.wait()
                if self._closed and not self._queue:
                    return
                work = self._queue.popleft()
                self._busy = True
                self._running = (work._name, time.monotonic())
            work._run()
            with self._lock:
                self._busy = False
                self._running = None
                self._cv.notify_all()

    def _drain_and_close(self):
        """Lets queued operations finish (the watchdog bounds them), then stops the worker."""
        with self._lock:
            while self._busy or self._queue:
                self._cv.wait()
            self._closed = True
            self._cv.notify_all()

    def _overdue(self, now):
        """(name, seconds) of an operation that has run past the timeout, or None."""
        if not self._timeout:
            return None
        # Point-to-point works count from when wait() began (an irecv may be posted
        # long before its message is due); collectives from when they started to run.
        running = [self._running] + [(w._name, w.started) for w in list(self._p2p)]
        for entry in running:
            if entry is not None and entry[1] is not None:
                ran = now - entry[1]
                if ran > self._timeout:
                    return entry[0], ran
        return None


def _watchdog_loop():
    while True:
        groups = list(_state.groups)
        timeouts = [g._timeout for g in groups if g._timeout]
        interval = min([0.5] + [t / 10 for t in timeouts])
        time.sleep(max(interval, 0.02))
        now = time.monotonic()
        for g in list(_state.groups):
            overdue = g._overdue(now)
            if overdue is not None:
                name, ran = overdue
                _abort_job(
                    f"[rank{_world_rank()}]: Watchdog caught collective operation timeout: "
                    f"{name} on group {g._name!r} ran for {int(ran * 1000)} milliseconds "
                    f"before timing out (timeout {int(g._timeout * 1000)} ms). A rank died, "
                    "hangs or skipped the operation; aborting the job so that no rank waits "
                    "forever."
                )


def _abort_job(message):
    try:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
        # The launcher forwards a rank's output through a proxy that Abort tears
        # down at once: a moment's pause lets the reason reach the user.
        time.sleep(0.2)
    finally:
        _state.mpi.COMM_WORLD.Abort(1)


def _excepthook(exc_type, exc, tb):
    _previous_excepthook(exc_type, exc, tb)
    world = _state.world
    if world is not None and world.size() > 1:
        _abort_job(
            f"[rank{_world_rank()}]: uncaught {exc_type.__name__}; aborting the MPI job "
            "(ember.distributed) so that the other ranks do not wait for this one."
        )


_previous_excepthook = sys.excepthook


def _world_rank():
    if _state.mpi is None:
        return -1
    return _state.mpi.COMM_WORLD.Get_rank()


def _import_mpi():
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise RuntimeError(
            f"Distributed package doesn't have MPI built in. {_INSTALL_HINT}"
        ) from exc
    return MPI


def init_process_group(
    backend=None,
    init_method=None,
    timeout=None,
    world_size=-1,
    rank=-1,
    store=None,
    group_name="",
    pg_options=None,
    device_id=None,
):
    """Joins the MPI job this process was launched in (`mpiexec -n N python ...`).

    `backend` must be "mpi" (or None). A process started without mpiexec is a
    world of one. `timeout` (default 30 minutes) bounds every operation: the
    watchdog aborts the job when one runs longer.
    """
    if _state.world is not None:
        raise ValueError("trying to initialize the default process group twice!")
    name = Backend(backend) if backend is not None else Backend.MPI
    if name != Backend.MPI:
        raise RuntimeError(
            f"Distributed package doesn't have {name.upper()} built in "
            "(Ember's only backend is 'mpi': launch with mpiexec -n N and call "
            "init_process_group(backend='mpi'))"
        )
    if world_size != -1 or rank != -1:
        warnings.warn(
            f"For MPI backend, world_size ({world_size}) and rank ({rank}) are ignored since "
            "they are assigned by the MPI runtime.",
            stacklevel=2,
        )
    MPI = _import_mpi()
    if MPI.Query_thread() < MPI.THREAD_SERIALIZED:
        raise RuntimeError(
            "Used MPI implementation doesn't have the minimum level of threading support: "
            "MPI_THREAD_SERIALIZED. This is required by c10d package (mpi4py initialised MPI "
            "with a lower level: leave mpi4py.rc.thread_level at its default, 'multiple')"
        )
    _state.mpi = MPI
    seconds = _seconds(timeout if timeout is not None else default_pg_timeout)
    if seconds is not None and seconds <= 0:
        raise ValueError(f"timeout must be positive, got {timeout}")
    comm = MPI.COMM_WORLD.Dup()
    world = ProcessGroup(comm, range(comm.Get_size()), seconds, group_name or "0")
    with _state.lock:
        _state.world = world
        _state.groups.append(world)
        if _state.watchdog is None:
            _state.watchdog = threading.Thread(
                target=_watchdog_loop, name="ember-mpi-watchdog", daemon=True
            )
            _state.watchdog.start()
        if not _state.hook_installed:
            global _previous_excepthook
            _previous_excepthook = sys.excepthook
            sys.excepthook = _excepthook
            _state.hook_installed = True


def is_initialized():
    return _state.world is not None


def _world():
    if _state.world is None:
        raise ValueError(_NOT_INITIALIZED)
    return _state.world


def _group(group):
    if group is None or group is GroupMember.WORLD:
        return _world()
    if group is GroupMember.NON_GROUP_MEMBER:
        return None
    if not isinstance(group, ProcessGroup):
        raise TypeError(f"expected a ProcessGroup, got {type(group).__name__}")
    if group._closed:
        raise ValueError("Invalid process group specified")
    return group


def destroy_process_group(group=None):
    """Frees a group (default: every group, after which init_process_group may run again)."""
    if group is GroupMember.NON_GROUP_MEMBER:
        return
    if group is None or group is _state.world:
        if _state.world is None:
            raise ValueError(_NOT_INITIALIZED)
        doomed = list(_state.groups)
    else:
        doomed = [_group(group)]
    for g in doomed:
        g._drain_and_close()
        with _state.lock:
            if g in _state.groups:
                _state.groups.remove(g)
        try:
            g._comm.Free()
        except Exception:  # noqa: BLE001 - MPI may already be finalising
            pass
    if group is None or group is _state.world:
        _state.world = None


def get_backend(group=None):
    if _group(group) is None:
        raise ValueError("Invalid process group specified")
    return Backend.MPI


def get_rank(group=None):
    """This process's rank in `group` (default: the world), -1 outside the group."""
    g = _group(group)
    if g is None:
        return -1
    return g.rank()


def get_world_size(group=None):
    g = _group(group)
    if g is None:
        return -1
    return g.size()


def get_process_group_ranks(group):
    g = _group(group)
    if g is None:
        raise ValueError("Invalid process group specified")
    return list(g._ranks)


def get_global_rank(group, group_rank):
    g = _group(group)
    if g is None or not 0 <= group_rank < g.size():
        raise ValueError(f"Group rank {group_rank} is not part of group {group}")
    return g._ranks[group_rank]


def get_group_rank(group, global_rank):
    g = _group(group)
    if g is None or global_rank not in g._ranks:
        raise ValueError(f"Global rank {global_rank} is not part of group {group}")
    return g._ranks.index(global_rank)


def new_group(
    ranks=None,
    timeout=None,
    backend=None,
    pg_options=None,
    use_local_synchronization=False,
    group_desc=None,
    device_id=None,
):
    """A group of some ranks (default: all). Every rank of the world must call it, in
    the same order; ranks outside the group get GroupMember.NON_GROUP_MEMBER."""
    world = _world()
    if backend is not None and Backend(backend) != Backend.MPI:
        raise RuntimeError(f"Distributed package doesn't have {backend.upper()} built in")
    size = world.size()
    members = sorted(range(size) if ranks is None else (int(r) for r in ranks))
    for r in members:
        if r < 0 or r >= size:
            raise ValueError(
                "The new group's rank should be within the world_size set by init_process_group"
            )
    if len(set(members)) != len(members):
        raise ValueError(f"ranks {list(ranks)} contain duplicates")
    me = world.rank()
    MPI = _state.mpi
    color = 0 if me in members else MPI.UNDEFINED
    out = {}

    def split():
        out["comm"] = world._comm.Split(color, me)

    world._issue("new_group", split, [], async_op=False)
    comm = out["comm"]
    if comm == MPI.COMM_NULL:
        return GroupMember.NON_GROUP_MEMBER
    seconds = _seconds(timeout) if timeout is not None else world._timeout
    g = ProcessGroup(comm, members, seconds, group_desc or str(len(_state.groups)))
    with _state.lock:
        _state.groups.append(g)
    return g


# ----- tensors to MPI buffers -------------------------------------------------------


def _check_single_tensor(param, name):
    if not isinstance(param, _C.Tensor):
        raise TypeError(
            f"Invalid function argument. Expected parameter `{name}` of type torch.Tensor\n"
            f"             but got {type(param)} instead."
        )


def _check_tensor_list(param, name):
    if not isinstance(param, (list, tuple)) or not all(isinstance(p, _C.Tensor) for p in param):
        raise TypeError(
            f"Invalid function argument. Expected parameter `{name}` of type List[torch.Tensor]\n"
            f"             but got {type(param)} instead."
        )


def _check_contiguous(t):
    if not t.is_contiguous():
        raise RuntimeError("input tensor has to be contiguous")


def _check_same_size_and_type(t, tensors):
    for other in tensors:
        if other.numel() != t.numel() or other.dtype != t.dtype:
            raise RuntimeError("Tensors are not equal in size or data type")
        _check_contiguous(other)


def _buffer(t):
    """A flat NumPy array over the tensor's own memory (contiguous, checked before)."""
    return (t.detach() if t.requires_grad else t).numpy().reshape(-1)


_MPI_OPS = {}  # (RedOpType, is_bool) -> the MPI op, filled on first use


def _mpi_op(op, dtype):
    is_bool = dtype == _C.bool
    found = _MPI_OPS.get((op, is_bool))
    if found is not None:
        return found
    MPI = _state.mpi
    op = RedOpType(op)
    if op in (RedOpType.PREMUL_SUM, RedOpType.UNUSED):
        raise RuntimeError(f"Cannot use ReduceOp.{op.name} with MPI")
    if is_bool:
        found = {
            RedOpType.SUM: MPI.LOR,
            RedOpType.AVG: MPI.LOR,
            RedOpType.MAX: MPI.LOR,
            RedOpType.BOR: MPI.LOR,
            RedOpType.PRODUCT: MPI.LAND,
            RedOpType.MIN: MPI.LAND,
            RedOpType.BAND: MPI.LAND,
            RedOpType.BXOR: MPI.LXOR,
        }[op]
    else:
        found = {
            RedOpType.SUM: MPI.SUM,
            RedOpType.AVG: MPI.SUM,
            RedOpType.PRODUCT: MPI.PROD,
            RedOpType.MIN: MPI.MIN,
            RedOpType.MAX: MPI.MAX,
            RedOpType.BAND: MPI.BAND,
            RedOpType.BOR: MPI.BOR,
            RedOpType.BXOR: MPI.BXOR,
        }[op]
    _MPI_OPS[(op, is_bool)] = found
    return found


def _check_op_dtype(op, dtype):
    if op in (RedOpType.BAND, RedOpType.BOR, RedOpType.BXOR) and dtype not in (_C.int64, _C.bool):
        raise RuntimeError(f"Cannot use ReduceOp.{RedOpType(op).name} with non-integral dtype")
    if op == RedOpType.AVG and dtype == _C.int64:
        raise RuntimeError("result type Float can't be cast to the desired output type Long")


def _average(t, n):
    if t.dtype != _C.bool and n > 1:
        (t.detach() if t.requires_grad else t).div_(n)


def _root(g, rank, group_rank, what):
    """The group rank of a global `rank` (torch's src/dst) or of `group_rank`."""
    if group_rank is not None:
        if rank is not None:
            raise ValueError(f"Can not specify both {what} and group_{what}")
        root = int(group_rank)
    else:
        if rank is None:
            rank = 0
        root = get_group_rank(g, int(rank)) if g is not _state.world else int(rank)
    if not 0 <= root < g.size():
        raise RuntimeError(f"Invalid {what} rank: {rank if group_rank is None else group_rank}")
    return root


def _not_member(name):
    warnings.warn(
        f"Running {name} on global rank {_world_rank()} which does not belong to the given group.",
        stacklevel=3,
    )


# ----- collectives ------------------------------------------------------------------


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduces `tensor` over the group, in place, on every rank."""
    _check_single_tensor(tensor, "tensor")
    g = _group(group)
    if g is None:
        return _not_member("all_reduce")
    _check_contiguous(tensor)
    _check_op_dtype(op, tensor.dtype)
    mpi_op = _mpi_op(op, tensor.dtype)
    avg = op == RedOpType.AVG
    buf = _buffer(tensor)
    MPI = _state.mpi

    def run():
        g._comm.Allreduce(MPI.IN_PLACE, buf, op=mpi_op)
        if avg:
            _average(tensor, g.size())

    return g._issue("all_reduce", run, [tensor], async_op)


def reduce(tensor, dst=None, op=ReduceOp.SUM, group=None, async_op=False, group_dst=None):
    """Reduces `tensor` into rank `dst`'s copy (other ranks' tensors are unchanged)."""
    _check_single_tensor(tensor, "tensor")
    g = _group(group)
    if g is None:
        return _not_member("reduce")
    root = _root(g, dst, group_dst, "dst")
    _check_contiguous(tensor)
    _check_op_dtype(op, tensor.dtype)
    mpi_op = _mpi_op(op, tensor.dtype)
    avg = op == RedOpType.AVG
    buf = _buffer(tensor)
    MPI = _state.mpi
    is_root = g.rank() == root

    def run():
        if is_root:
            g._comm.Reduce(MPI.IN_PLACE, buf, op=mpi_op, root=root)
            if avg:
                _average(tensor, g.size())
        else:
            g._comm.Reduce(buf, None, op=mpi_op, root=root)

    return g._issue("reduce", run, [tensor], async_op)


def broadcast(tensor, src=None, group=None, async_op=False, group_src=None):
    """Copies rank `src`'s tensor into every rank's `tensor`, in place."""
    _check_single_tensor(tensor, "tensor")
    g = _group(group)
    if g is None:
        return _not_member("broadcast")
    root = _root(g, src, group_src, "src")
    _check_contiguous(tensor)
    buf = _buffer(tensor)

    def run():
        g._comm.Bcast(buf, root=root)

    return g._issue("broadcast", run, [tensor], async_op)


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """tensor_list[i] = rank i's `tensor`."""
    _check_tensor_list(tensor_list, "tensor_list")
    _check_single_tensor(tensor, "tensor")
    g = _group(group)
    if g is None:
        return _not_member("all_gather")
    _check_contiguous(tensor)
    if len(tensor_list) != g.size():
        raise RuntimeError("All gather: number of output tensors should equal to the world size")
    _check_same_size_and_type(tensor, tensor_list)
    buf = _buffer(tensor)
    outputs = [_buffer(t) for t in tensor_list]

    def run():
        flat = np.empty((g.size(), buf.size), dtype=buf.dtype)
        g._comm.Allgather(buf, flat)
        for out, row in zip(outputs, flat):
            out[...] = row

    return g._issue("all_gather", run, list(tensor_list), async_op)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op=False):
    """Rank i's `input_tensor` fills the i-th slice of `output_tensor` (concatenated along
    dim 0 or stacked), with no copy."""
    _check_single_tensor(output_tensor, "output_tensor")
    _check_single_tensor(input_tensor, "input_tensor")
    g = _group(group)
    if g is None:
        return _not_member("all_gather_into_tensor")
    _check_contiguous(input_tensor)
    _check_contiguous(output_tensor)
    if output_tensor.dtype != input_tensor.dtype:
        raise RuntimeError("output tensor must have the same type as input tensor")
    if output_tensor.numel() != input_tensor.numel() * g.size():
        raise RuntimeError("output tensor size must be equal to world_size times input tensor size")
    send, recv = _buffer(input_tensor), _buffer(output_tensor)

    def run():
        g._comm.Allgather(send, recv)

    return g._issue("all_gather_into_tensor", run, [output_tensor], async_op)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op=False):  # noqa: A002
    """Reduces `input` over the group; rank i keeps the i-th slice in `output`."""
    _check_single_tensor(output, "output")
    _check_single_tensor(input, "input")
    g = _group(group)
    if g is None:
        return _not_member("reduce_scatter_tensor")
    _check_contiguous(input)
    _check_contiguous(output)
    if output.dtype != input.dtype:
        raise RuntimeError("input tensor must be the same type as the output tensor.")
    if input.numel() != output.numel() * g.size():
        raise RuntimeError("input tensor must be the same size as output size times world size")
    _check_op_dtype(op, input.dtype)
    mpi_op = _mpi_op(op, input.dtype)
    avg = op == RedOpType.AVG
    send, recv = _buffer(input), _buffer(output)

    def run():
        g._comm.Reduce_scatter_block(send, recv, op=mpi_op)
        if avg:
            _average(output, g.size())

    return g._issue("reduce_scatter_tensor", run, [output], async_op)


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op=False):
    """Reduces input_list[i] over the group into rank i's `output`."""
    _check_single_tensor(output, "output")
    _check_tensor_list(input_list, "input_list")
    g = _group(group)
    if g is None:
        return _not_member("reduce_scatter")
    _check_contiguous(output)
    if len(input_list) != g.size():
        raise RuntimeError("Reduce scatter: number of input tensors should equal to the world size")
    _check_same_size_and_type(output, input_list)
    _check_op_dtype(op, output.dtype)
    mpi_op = _mpi_op(op, output.dtype)
    avg = op == RedOpType.AVG
    inputs = [_buffer(t) for t in input_list]
    recv = _buffer(output)

    def run():
        flat = np.stack(inputs) if inputs[0].size else np.empty((g.size(), 0), recv.dtype)
        g._comm.Reduce_scatter_block(flat, recv, op=mpi_op)
        if avg:
            _average(output, g.size())

    return g._issue("reduce_scatter", run, [output], async_op)


def _rooted_list(tensor, tensors, list_name, group, root, group_root, root_name, op):
    """gather's and scatter's checks, torch's messages: the list of tensors is given
    on the root rank only, one per rank, each like `tensor`. Returns (group, root,
    whether this rank is it, the list) or None when this rank is not in the group."""
    _check_single_tensor(tensor, "tensor")
    if tensors:
        _check_tensor_list(tensors, list_name)
    else:
        tensors = []
    g = _group(group)
    if g is None:
        return None
    root = _root(g, root, group_root, root_name)
    is_root = g.rank() == root
    side = "destination" if op == "Gather" else "source"
    if is_root and not tensors:
        raise ValueError(f"Argument ``{list_name}`` must be specified on {side} rank.")
    if not is_root and tensors:
        raise ValueError(f"Argument ``{list_name}`` must NOT be specified on non-{side} ranks.")
    _check_contiguous(tensor)
    if is_root:
        if len(tensors) != g.size():
            kind = "output" if op == "Gather" else "input"
            raise RuntimeError(f"{op}: number of {kind} tensors should equal to the world size")
        _check_same_size_and_type(tensor, tensors)
    return g, root, is_root, tensors


def gather(tensor, gather_list=None, dst=None, group=None, async_op=False, group_dst=None):
    """Rank `dst` receives every rank's `tensor` in `gather_list`."""
    checked = _rooted_list(
        tensor, gather_list, "gather_list", group, dst, group_dst, "dst", "Gather"
    )
    if checked is None:
        return _not_member("gather")
    g, root, is_root, gather_list = checked
    send = _buffer(tensor)
    outputs = [_buffer(t) for t in gather_list]

    def run():
        flat = np.empty((g.size(), send.size), dtype=send.dtype) if is_root else None
        g._comm.Gather(send, flat, root=root)
        if is_root:
            for out, row in zip(outputs, flat):
                out[...] = row

    return g._issue("gather", run, list(gather_list), async_op)


def scatter(tensor, scatter_list=None, src=None, group=None, async_op=False, group_src=None):
    """Rank i's `tensor` receives scatter_list[i] from rank `src`."""
    checked = _rooted_list(
        tensor, scatter_list, "scatter_list", group, src, group_src, "src", "Scatter"
    )
    if checked is None:
        return _not_member("scatter")
    g, root, is_root, scatter_list = checked
    recv = _buffer(tensor)
    inputs = [_buffer(t) for t in scatter_list]

    def run():
        flat = None
        if is_root:
            flat = np.stack(inputs) if recv.size else np.empty((g.size(), 0), recv.dtype)
        g._comm.Scatter(flat, recv, root=root)

    return g._issue("scatter", run, [tensor], async_op)


def all_to_all_single(
    output,
    input,
    output_split_sizes=None,
    input_split_sizes=None,
    group=None,
    async_op=False,  # noqa: A002
):
    """Splits `input` along dim 0 and sends the i-th split to rank i; `output` collects
    what each rank sent this one, in rank order."""
    _check_single_tensor(output, "output")
    _check_single_tensor(input, "input")
    g = _group(group)
    if g is None:
        return _not_member("all_to_all_single")
    _check_contiguous(input)
    _check_contiguous(output)
    n = g.size()
    send, recv = _buffer(input), _buffer(output)
    if output.dtype != input.dtype:
        raise RuntimeError("Tensors are not equal in size or data type")
    if not output_split_sizes and not input_split_sizes:
        if output.numel() != input.numel():
            raise RuntimeError("Tensors are not equal in size or data type")
        if input.dim() == 0 or input.shape[0] % n:
            raise RuntimeError("Tensor's dim 0 does not divide equally across group size")

        def run():
            g._comm.Alltoall(send, recv)

    else:

        def counts(t, splits):
            rows = t.shape[0] if t.dim() else 1
            per_row = t.numel() // rows if rows else 0
            if not splits:
                if rows % n:
                    raise RuntimeError("Tensor's dim 0 does not divide equally across group size")
                splits = [rows // n] * n
            if len(splits) != n or sum(splits) != rows:
                raise RuntimeError("Split sizes doesn't match total dim 0 size")
            sizes = [s * per_row for s in splits]
            displs = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int).tolist()
            return sizes, displs

        send_counts = counts(input, input_split_sizes)
        recv_counts = counts(output, output_split_sizes)

        def run():
            g._comm.Alltoallv([send, send_counts], [recv, recv_counts])

    return g._issue("all_to_all_single", run, [output], async_op)


def barrier(group=None, async_op=False, device_ids=None):
    """Returns when every rank of the group has reached it."""
    g = _group(group)
    if g is None:
        return _not_member("barrier")
    return g._issue("barrier", g._comm.Barrier, [], async_op)


def monitored_barrier(group=None, timeout=None, wait_all_ranks=False):
    """A barrier whose timeout (default: the group's) raises RuntimeError on this rank."""
    g = _group(group)
    if g is None:
        return _not_member("monitored_barrier")
    work = g._issue("monitored_barrier", g._comm.Barrier, [], async_op=True)
    work.wait(timeout)


# ----- point to point ---------------------------------------------------------------


def _peer(g, rank, group_rank, what):
    if group_rank is not None:
        return int(group_rank)
    if rank is None:
        raise ValueError(f"Must specify either {what} or group_{what}")
    return get_group_rank(g, int(rank)) if g is not _state.world else int(rank)


class _P2PWork(Work):
    def __init__(self, name, request, outputs, group, status=None):
        super().__init__(name, None, outputs, group)
        self._request = request
        self._status = status
        self._lock = threading.Lock()  # one thread at a time touches the MPI request

    def _finish(self):
        self._done.set()
        self._group._p2p.discard(self)

    def wait(self, timeout=None):
        with self._lock:
            if self._done.is_set():
                return True
            self.started = time.monotonic()
            self._group._p2p.add(self)
            seconds = _seconds(timeout)
            if seconds:  # poll, so that this wait can give up on its own
                while not self._request.Test(self._status):
                    if time.monotonic() - self.started > seconds:
                        self._group._p2p.discard(self)
                        raise RuntimeError(
                            f"[Rank {_world_rank()}] Timed out waiting {int(seconds * 1000)}ms "
                            f"for {self._name} to complete"
                        )
                    time.sleep(0.0005)
            else:
                self._request.Wait(self._status)
            if self._status is not None:
                self._source = self._group._ranks[self._status.Get_source()]
            self._finish()
        return True

    def is_completed(self):
        with self._lock:
            if not self._done.is_set() and self._request.Test(self._status):
                if self._status is not None:
                    self._source = self._group._ranks[self._status.Get_source()]
                self._finish()
        return self._done.is_set()


def isend(tensor, dst=None, group=None, tag=0, group_dst=None):
    """Starts sending `tensor` to rank `dst`; the Work's wait() returns once sent."""
    _check_single_tensor(tensor, "tensor")
    g = _group(group)
    if g is None:
        return _not_member("isend")
    peer = _peer(g, dst, group_dst, "dst")
    if peer == g.rank():
        raise ValueError(
            "Invalid destination rank: destination rank should not be the same as the rank "
            "of the current process."
        )
    if not 0 <= peer < g.size():
        raise RuntimeError(f"Invalid dst rank: {dst}")
    _check_contiguous(tensor)
    return _P2PWork("send", g._comm.Isend(_buffer(tensor), dest=peer, tag=tag), [], g)


def irecv(tensor, src=None, group=None, tag=0, group_src=None):
    """Starts receiving into `tensor` from rank `src` (None: any rank)."""
    _check_single_tensor(tensor, "tensor")
    g = _group(group)
    if g is None:
        return _not_member("irecv")
    MPI = _state.mpi
    if src is None and group_src is None:
        peer = MPI.ANY_SOURCE
    else:
        peer = _peer(g, src, group_src, "src")
        if peer == g.rank():
            raise ValueError(
                "Invalid source rank: source rank should not be the same as the rank of the "
                "current process."
            )
        if not 0 <= peer < g.size():
            raise RuntimeError(f"Invalid src rank: {src}")
    _check_contiguous(tensor)
    status = MPI.Status()
    request = g._comm.Irecv(_buffer(tensor), source=peer, tag=tag)
    return _P2PWork("recv", request, [tensor], g, status)


def send(tensor, dst=None, group=None, tag=0, group_dst=None):
    work = isend(tensor, dst, group, tag, group_dst)
    if work is not None:
        work.wait()


def recv(tensor, src=None, group=None, tag=0, group_src=None):
    """Receives into `tensor`; returns the sender's global rank (-1 outside the group)."""
    work = irecv(tensor, src, group, tag, group_src)
    if work is None:
        return -1
    work.wait()
    return work._source


# ----- Python objects (pickled) -----------------------------------------------------


def _object_op(g, name, run):
    out = {}

    def wrapped():
        out["value"] = run()

    g._issue(name, wrapped, [], async_op=False)
    return out["value"]


def all_gather_object(object_list, obj, group=None):
    """object_list[i] = rank i's `obj` (pickled)."""
    g = _group(group)
    if g is None:
        return _not_member("all_gather_object")
    gathered = _object_op(g, "all_gather_object", lambda: g._comm.allgather(obj))
    for i, item in enumerate(gathered):
        object_list[i] = item


def broadcast_object_list(object_list, src=None, group=None, device=None, group_src=None):
    """Every rank's object_list becomes rank `src`'s (same length on every rank)."""
    g = _group(group)
    if g is None:
        return _not_member("broadcast_object_list")
    root = _root(g, src, group_src, "src")
    mine = list(object_list) if g.rank() == root else None
    got = _object_op(g, "broadcast_object_list", lambda: g._comm.bcast(mine, root=root))
    if g.rank() != root:
        for i, item in enumerate(got):
            object_list[i] = item


def gather_object(obj, object_gather_list=None, dst=None, group=None, group_dst=None):
    g = _group(group)
    if g is None:
        return _not_member("gather_object")
    root = _root(g, dst, group_dst, "dst")
    if g.rank() == root and object_gather_list is None:
        raise ValueError("Argument ``gather_list`` must be specified on destination rank.")
    got = _object_op(g, "gather_object", lambda: g._comm.gather(obj, root=root))
    if g.rank() == root:
        for i, item in enumerate(got):
            object_gather_list[i] = item


def scatter_object_list(
    scatter_object_output_list, scatter_object_input_list=None, src=None, group=None, group_src=None
):
    g = _group(group)
    if g is None:
        return _not_member("scatter_object_list")
    if not isinstance(scatter_object_output_list, list) or len(scatter_object_output_list) < 1:
        raise ValueError(
            "Expected argument scatter_object_output_list to be a list of size at least 1."
        )
    root = _root(g, src, group_src, "src")
    items = list(scatter_object_input_list) if g.rank() == root else None
    scatter_object_output_list[0] = _object_op(
        g, "scatter_object_list", lambda: g._comm.scatter(items, root=root)
    )
