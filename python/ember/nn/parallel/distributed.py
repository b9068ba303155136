"""DistributedDataParallel over ember.distributed (MPI): torch's DDP on CPUs.

Note [DDP buckets]
At construction rank 0's parameters and buffers are broadcast to every rank, and
the parameters that require grad are laid, in reverse order (roughly the order
the backward pass finishes them), into flat buckets per dtype: the first holds
up to 1 MiB, the others up to `bucket_cap_mb` (25 MB by default), as torch's.
Each parameter gets a post-accumulate-grad hook. When the backward pass has
added a parameter's gradient into `.grad`, its hook copies `.grad` into its
slot of the bucket; when a bucket's last slot is filled, a non-blocking
all-reduce (sum, then divided by the world size) starts on the process group's
worker thread while the backward pass goes on. Buckets start strictly in
bucket order, so every rank issues the same collectives in the same order even
if gradients arrive in another order. The hook that fills the last bucket
waits for all of them and writes the averaged gradients back into `.grad`
(or, with `gradient_as_bucket_view=True`, makes `.grad` the bucket's view), so
`loss.backward()` returns with synchronised gradients.

With `find_unused_parameters=True`, the forward pass walks the output's graph
to find the parameters it did not use; the first hook of the backward pass
marks them ready (their slots hold their `.grad`, or zeros), and a small
all-reduce of the "used" flags tells which ones no rank used: those keep their
`.grad` untouched, as torch's. Inside `no_sync()`, the forward pass arms no
hooks: gradients accumulate locally and the next synchronised backward reduces
the sum.
"""

import weakref
from contextlib import contextmanager

import numpy as np

from ... import _C
from ..._grad_mode import is_grad_enabled, no_grad
from ..modules import Module

_DEFAULT_FIRST_BUCKET_BYTES = 1024 * 1024
_DEFAULT_BUCKET_CAP_MB = 25


def _dist():
    from ... import distributed

    return distributed


def _tensors_in(obj, out):
    if isinstance(obj, _C.Tensor):
        out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            _tensors_in(item, out)
    elif isinstance(obj, dict):
        for item in obj.values():
            _tensors_in(item, out)
    return out


def _flat_copies(tensors, dist, group, src):
    """Broadcasts `tensors` from group rank `src`, one flat buffer per dtype."""
    by_dtype = {}
    for t in tensors:
        by_dtype.setdefault(t.dtype, []).append(t)
    with no_grad():
        for dtype, group_tensors in by_dtype.items():
            total = sum(t.numel() for t in group_tensors)
            flat = _C.empty([total], dtype=dtype)
            offset = 0
            for t in group_tensors:
                n = t.numel()
                flat[offset : offset + n].copy_(t.detach().reshape(-1))
                offset += n
            dist.broadcast(flat, group=group, group_src=src)
            offset = 0
            for t in group_tensors:
                n = t.numel()
                t.detach().copy_(flat[offset : offset + n].view(t.shape))
                offset += n


class _Bucket:
    __slots__ = ("dtype", "indices", "flat", "views", "pending", "work")

    def __init__(self, dtype, indices, params):
        self.dtype = dtype
        self.indices = indices
        total = sum(params[i].numel() for i in indices)
        self.flat = _C.zeros([total], dtype=dtype)
        self.views = []
        offset = 0
        for i in indices:
            n = params[i].numel()
            self.views.append(self.flat[offset : offset + n].view(params[i].shape))
            offset += n
        self.pending = len(indices)
        self.work = None


class DistributedDataParallel(Module):
    """Data-parallel training over ember.distributed: every rank runs the module on its
    shard of the batch, and backward() leaves each rank with the gradients averaged
    over all ranks (Note [DDP buckets])."""

    def __init__(
        self,
        module,
        device_ids=None,
        output_device=None,
        dim=0,
        broadcast_buffers=True,
        init_sync=True,
        process_group=None,
        bucket_cap_mb=None,
        find_unused_parameters=False,
        check_reduction=False,
        gradient_as_bucket_view=False,
        static_graph=False,
        delay_all_reduce_named_params=None,
        param_to_hook_all_reduce=None,
        mixed_precision=None,
        device_mesh=None,
        skip_all_reduce_unused_params=False,
    ):
        super().__init__()
        dist = _dist()
        group = dist._group(process_group)
        if group is None:
            raise RuntimeError("DistributedDataParallel: this rank is not in the process group")
        if device_ids:
            raise ValueError(
                "DistributedDataParallel device_ids and output_device arguments only work with "
                "single-device/multiple-device GPU modules or CPU modules, but got device_ids "
                f"{device_ids}, output_device {output_device}, and module parameters on CPU."
            )
        self.module = module
        self.process_group = group
        self.device_ids = None
        self.output_device = None
        self.dim = dim
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.static_graph = static_graph
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        if bucket_cap_mb is None:
            bucket_cap_mb = _DEFAULT_BUCKET_CAP_MB
        self.bucket_bytes_cap = int(bucket_cap_mb * 1024 * 1024)

        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        if not named:
            raise RuntimeError(
                "DistributedDataParallel is not needed when a module doesn't have any parameter "
                "that requires a gradient."
            )
        self._param_names = [n for n, _ in named]
        self._params = [p for _, p in named]
        self._module_buffers = list(module.buffers())
        self._verify_same_model(dist)
        if init_sync:
            _flat_copies(
                [p for p in module.parameters()] + self._module_buffers, dist, group, src=0
            )
        self._build_buckets()
        self._reset_iteration(active=False)
        self._hook_handles = []
        ref = weakref.ref(self)
        for i, p in enumerate(self._params):
            self._hook_handles.append(p.register_post_accumulate_grad_hook(_make_hook(ref, i)))

    # ----- construction -------------------------------------------------------------

    def _verify_same_model(self, dist):
        mine = [(tuple(p.shape), str(p.dtype)) for p in self._params]
        everyone = [None] * self.process_group.size()
        dist.all_gather_object(everyone, mine, group=self.process_group)
        me = self.process_group.rank()
        for rank, theirs in enumerate(everyone):
            if len(theirs) != len(mine):
                raise RuntimeError(
                    f"DDP expects same model across all ranks, but Rank {me} has {len(mine)} "
                    f"params, while rank {rank} has inconsistent {len(theirs)} params."
                )
            for i, (a, b) in enumerate(zip(mine, theirs)):
                if a != b:
                    raise RuntimeError(
                        f"DDP expects same model across all ranks, but Rank {me}'s parameter "
                        f"{i} ({self._param_names[i]}) has shape {list(a[0])} and dtype {a[1]}, "
                        f"while rank {rank}'s has shape {list(b[0])} and dtype {b[1]}."
                    )

    def _build_buckets(self):
        """Reverse parameter order, one open bucket per dtype (Note [DDP buckets])."""
        buckets = []
        open_buckets = {}
        limit = min(_DEFAULT_FIRST_BUCKET_BYTES, self.bucket_bytes_cap)
        for i in reversed(range(len(self._params))):
            p = self._params[i]
            entry = open_buckets.setdefault(p.dtype, [[], 0])
            entry[0].append(i)
            entry[1] += p.numel() * p.element_size()
            if entry[1] >= limit:
                buckets.append((p.dtype, entry[0]))
                del open_buckets[p.dtype]
                limit = self.bucket_bytes_cap
        for dtype, (indices, _) in open_buckets.items():
            buckets.append((dtype, indices))
        self._buckets = [_Bucket(dtype, idx, self._params) for dtype, idx in buckets]
        self._where = [None] * len(self._params)
        for b, bucket in enumerate(self._buckets):
            for slot, i in enumerate(bucket.indices):
                self._where[i] = (b, slot)

    # ----- per iteration --------------------------------------------------------------

    def _reset_iteration(self, active):
        self._active = active
        self._ready = [False] * len(self._params)
        for bucket in self._buckets:
            bucket.pending = len(bucket.indices)
            bucket.work = None
        self._next_bucket = 0
        self._unused = []
        self._unused_marked = False
        self._used = np.zeros(len(self._params), dtype=np.int64)

    def _check_previous_reduction(self):
        if not self._active or not any(self._ready):
            return
        missing = [i for i, r in enumerate(self._ready) if not r]
        names = ", ".join(self._param_names[i] for i in missing)
        self._reset_iteration(active=False)
        raise RuntimeError(
            "Expected to have finished reduction in the prior iteration before starting a new "
            "one. This error indicates that your module has parameters that were not used in "
            "producing loss. You can enable unused parameter detection by passing the keyword "
            "argument `find_unused_parameters=True` to "
            "`torch.nn.parallel.DistributedDataParallel`, and by \nmaking sure all `forward` "
            "function outputs participate in calculating loss. \nIf you already have done the "
            "above, then the distributed data parallel module wasn't able to locate the output "
            "tensors in the return value of your module's `forward` function. Please include "
            "the loss function and the structure of the return value of `forward` of your "
            "module when reporting this issue (e.g. list, dict, iterable).\nParameter indices "
            f"which did not receive grad for rank {self.process_group.rank()}: "
            + " ".join(str(i) for i in missing)
            + f"\nParameters which did not receive grad: {names}"
        )

    def forward(self, *inputs, **kwargs):
        self._check_previous_reduction()
        sync = is_grad_enabled() and self.require_backward_grad_sync
        self.require_forward_param_sync = sync
        if sync and self.broadcast_buffers and self._module_buffers:
            _flat_copies(self._module_buffers, _dist(), self.process_group, src=0)
        output = self.module(*inputs, **kwargs)
        self._reset_iteration(active=sync)
        if sync and self.find_unused_parameters:
            self._unused = self._find_unused(output)
        return output

    def _find_unused(self, output):
        """Parameters the output's graph does not reach (by walking grad_fn.next_functions)."""
        outputs = _tensors_in(output, [])
        reached = {id(t): t for t in outputs if t.grad_fn is None and t.requires_grad}
        seen = {}
        stack = [t.grad_fn for t in outputs if t.grad_fn is not None]
        while stack:
            fn = stack.pop()
            if fn is None or id(fn) in seen:
                continue
            seen[id(fn)] = fn  # held, so ids stay unique during the walk
            variable = getattr(fn, "variable", None)
            if variable is not None:
                reached[id(variable)] = variable
                continue
            for nxt, _ in fn.next_functions:
                if nxt is not None:
                    stack.append(nxt)
        return [i for i, p in enumerate(self._params) if id(p) not in reached]

    def _grad_ready(self, index):
        if not self._active:
            return  # no_sync(), or a backward through a graph this module's forward did not arm
        if self._ready[index]:
            raise RuntimeError(
                "Expected to mark a variable ready only once. This error is caused by one of the "
                "following reasons: 1) Use of a module parameter outside the `forward` function. "
                "Please make sure model parameters are not shared across multiple concurrent "
                "forward-backward passes. or try to use _set_static_graph() as a workaround if "
                "this module graph does not change during training loop.2) Reused parameters in "
                "multiple reentrant backward passes. For example, if you use multiple "
                "`checkpoint` functions to wrap the same part of your model, it would result in "
                "the same set of parameters been used by different reentrant backward passes "
                "multiple times, and hence marking a variable ready multiple times. DDP does not "
                "support such use cases in default. You can try to use _set_static_graph() as a "
                f"workaround if your module graph does not change over iterations.\nParameter at "
                f"index {index} with name {self._param_names[index]} has been marked as ready "
                "twice. This means that multiple autograd engine  hooks have fired for this "
                "particular parameter during this iteration."
            )
        if self._unused and not self._unused_marked:
            self._unused_marked = True
            for i in self._unused:
                if i != index and not self._ready[i]:
                    self._mark_ready(i, used=False)
        self._mark_ready(index, used=True)

    def _mark_ready(self, index, used):
        self._ready[index] = True
        if used:
            self._used[index] = 1
        b, slot = self._where[index]
        bucket = self._buckets[b]
        view = bucket.views[slot]
        grad = self._params[index].grad
        with no_grad():
            if grad is None:
                view.zero_()
            elif not (self.gradient_as_bucket_view and grad.data_ptr() == view.data_ptr()):
                view.copy_(grad)
        bucket.pending -= 1
        if bucket.pending:
            return
        dist = _dist()
        group = self.process_group
        while self._next_bucket < len(self._buckets):
            ready = self._buckets[self._next_bucket]
            if ready.pending:
                return
            ready.work = dist.all_reduce(
                ready.flat, op=dist.ReduceOp.AVG, group=group, async_op=True
            )
            self._next_bucket += 1
        self._finalize(dist)

    def _finalize(self, dist):
        """All buckets started: wait for them and write the averages into .grad."""
        try:
            globally_used = None
            if self.find_unused_parameters:
                flags = _C.from_numpy(self._used)
                dist.all_reduce(flags, group=self.process_group)
                globally_used = self._used
            for bucket in self._buckets:
                bucket.work.wait()
            with no_grad():
                for bucket in self._buckets:
                    for slot, i in enumerate(bucket.indices):
                        if globally_used is not None and not globally_used[i]:
                            continue
                        p = self._params[i]
                        view = bucket.views[slot]
                        if self.gradient_as_bucket_view:
                            if p.grad is None or p.grad.data_ptr() != view.data_ptr():
                                p.grad = view
                        elif p.grad is None:
                            p.grad = view.clone()
                        else:
                            p.grad.copy_(view)
        finally:
            self._reset_iteration(active=False)

    @contextmanager
    def no_sync(self):
        """Gradients of forward/backward passes run inside accumulate locally; the first
        synchronised backward after it all-reduces the sums."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def _set_static_graph(self):
        self.static_graph = True

    def __del__(self):
        for handle in getattr(self, "_hook_handles", ()):
            handle.remove()


def _make_hook(ref, index):
    def hook(param):
        ddp = ref()
        if ddp is not None:
            ddp._grad_ready(index)

    return hook
