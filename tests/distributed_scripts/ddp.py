"""Run under mpiexec -n N: DistributedDataParallel against one process on the whole batch.

Every rank trains on its shard of each batch with DDP and, beside it, trains a
copy of the model on the whole batch in this one process (the reference). The
parameters must agree to 1e-9 in float64: SGD with momentum over several
buckets, Adam with gradients as bucket views, no_sync() accumulation, a
parameter only some ranks use and one no rank uses (find_unused_parameters),
and the error without find_unused_parameters. Rank 0 saves the SGD run's initial
and final parameters to argv[1] (an .npz) for the test to compare with torch.
"""

import sys

import ember
import ember.distributed as dist
import ember.nn as nn
import ember.nn.functional as F
import numpy as np
from ember.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group("mpi")
rank, size = dist.get_rank(), dist.get_world_size()
out_path = sys.argv[1] if len(sys.argv) > 1 else None
BATCH, STEPS = 12, 4  # 12 splits evenly over 1, 2, 3, 4 and 6 ranks


class Net(nn.Module):
    def __init__(self, unused=False):
        super().__init__()
        self.fc1 = nn.Linear(5, 16)
        self.fc2 = nn.Linear(16, 3)
        if unused:
            self.extra = nn.Linear(16, 3)  # used only when forward is asked to
            self.never = nn.Linear(2, 2)  # used by nobody
        self.register_buffer("scale", ember.ones(1, dtype=ember.float64))

    def forward(self, x, use_extra=False):
        h = ember.tanh(self.fc1(x)) * self.scale
        out = self.fc2(h)
        if use_extra:
            out = out + self.extra(h)
        return out


def make_model(seed, unused=False):
    ember.manual_seed(seed)
    return Net(unused).to(ember.float64)


def batches(seed):
    rng = np.random.default_rng(seed)
    for _ in range(STEPS):
        x = rng.standard_normal((BATCH, 5))
        y = rng.standard_normal((BATCH, 3))
        yield ember.from_numpy(x), ember.from_numpy(y)


def shard(t):
    per = t.shape[0] // size
    return t[rank * per : (rank + 1) * per]


def params_of(model):
    return {n: p.detach().numpy().copy() for n, p in model.named_parameters()}


def assert_same(ddp_model, ref_model, what, tol=1e-9):
    got, want = params_of(ddp_model), params_of(ref_model)
    for name in want:
        if not np.allclose(got[name], want[name], rtol=0, atol=tol):
            err = np.abs(got[name] - want[name]).max()
            raise AssertionError(f"rank {rank}: {what}: {name} differs by {err}")


def all_equal_across_ranks(model, what):
    mine = params_of(model)
    everyone = [None] * size
    dist.all_gather_object(everyone, mine)
    for theirs in everyone:
        for name in mine:
            assert np.array_equal(theirs[name], mine[name]), f"{what}: {name} differs across ranks"


# ----- construction broadcasts rank 0's parameters and buffers -----------------------
model = make_model(seed=100 + rank)  # every rank starts from other values
model.scale.fill_(1.0 + rank)
ddp = DDP(model, bucket_cap_mb=0.0001)  # ~100 bytes: three buckets
all_equal_across_ranks(model, "after construction")
assert model.scale.item() == 1.0, model.scale
assert ddp.module is model and len(ddp._buckets) == 3, len(ddp._buckets)
assert all(k.startswith("module.") for k in ddp.state_dict())

# ----- SGD with momentum: equal to the whole batch in one process ---------------------
ref = make_model(seed=100)  # rank 0's initial values
initial = params_of(ref)
opt = ember.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
ref_opt = ember.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
started_early = []
# A tensor hook on fc1.weight runs late in the backward pass, before its gradient
# is accumulated: by then the buckets of the later layers must already be sent.
model.fc1.weight.register_hook(lambda g: started_early.append(ddp._next_bucket))
for x, y in batches(1):
    opt.zero_grad()
    F.mse_loss(ddp(shard(x)), shard(y)).backward()
    opt.step()
    ref_opt.zero_grad()
    F.mse_loss(ref(x), y).backward()
    ref_opt.step()
    assert_same(model, ref, "SGD momentum")
assert all(n > 0 for n in started_early), started_early
if out_path and rank == 0:
    np.savez(
        out_path,
        **{f"initial.{k}": v for k, v in initial.items()},
        **{f"final.{k}": v for k, v in params_of(model).items()},
    )

# ----- Adam, gradients kept as bucket views ------------------------------------------
model, ref = make_model(7), make_model(7)
ddp = DDP(model, gradient_as_bucket_view=True)
opt = ember.optim.Adam(ddp.parameters(), lr=0.01)
ref_opt = ember.optim.Adam(ref.parameters(), lr=0.01)
for x, y in batches(2):
    opt.zero_grad()
    F.mse_loss(ddp(shard(x)), shard(y)).backward()
    opt.step()
    ref_opt.zero_grad()
    F.mse_loss(ref(x), y).backward()
    ref_opt.step()
    assert_same(model, ref, "Adam")
bucket_memory = {b.flat.data_ptr() for b in ddp._buckets}
assert any(p.grad.data_ptr() >= min(bucket_memory) for p in model.fc1.parameters()), (
    "gradient_as_bucket_view"
)

# ----- no_sync: two micro-batches per step, the first accumulated locally ------------
model, ref = make_model(3), make_model(3)
ddp = DDP(model)
opt = ember.optim.SGD(ddp.parameters(), lr=0.05, momentum=0.5)
ref_opt = ember.optim.SGD(ref.parameters(), lr=0.05, momentum=0.5)
half = BATCH // 2
for x, y in batches(3):
    opt.zero_grad()
    with ddp.no_sync():
        F.mse_loss(ddp(shard(x[:half])), shard(y[:half])).backward()
    grads_local = model.fc2.weight.grad.clone()
    F.mse_loss(ddp(shard(x[half:])), shard(y[half:])).backward()
    opt.step()
    ref_opt.zero_grad()
    F.mse_loss(ref(x[:half]), y[:half]).backward()
    F.mse_loss(ref(x[half:]), y[half:]).backward()
    ref_opt.step()
    assert_same(model, ref, "no_sync accumulation")
if size > 1:
    everyone = [None] * size
    dist.all_gather_object(everyone, grads_local.numpy())
    assert not np.array_equal(everyone[0], everyone[1]), "no_sync still reduced"

# ----- find_unused_parameters: `extra` used by rank 0 only, `never` by nobody --------
model, ref = make_model(5, unused=True), make_model(5, unused=True)
ddp = DDP(model, find_unused_parameters=True, bucket_cap_mb=0.0003)
opt = ember.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
ref_opt = ember.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
never_before = model.never.weight.detach().clone()
per = BATCH // size
for x, y in batches(4):
    opt.zero_grad()
    F.mse_loss(ddp(shard(x), use_extra=rank == 0), shard(y)).backward()
    opt.step()
    # the reference: the mean of every rank's shard loss, rank 0's with `extra`
    ref_opt.zero_grad()
    total = 0
    for r in range(size):
        xs, ys = x[r * per : (r + 1) * per], y[r * per : (r + 1) * per]
        total = total + F.mse_loss(ref(xs, use_extra=r == 0), ys)
    (total / size).backward()
    ref_opt.step()
    assert_same(model, ref, "find_unused_parameters")
    assert model.never.weight.grad is None, "a parameter no rank used got a gradient"
    assert model.extra.weight.grad is not None
assert ember.equal(model.never.weight, never_before)

# ----- without find_unused_parameters an unused parameter is an error -----------------
model = make_model(9, unused=True)
ddp = DDP(model)
F.mse_loss(
    ddp(ember.ones(2, 5, dtype=ember.float64)), ember.zeros(2, 3, dtype=ember.float64)
).backward()
try:
    ddp(ember.ones(2, 5, dtype=ember.float64))
except RuntimeError as exc:
    assert "Expected to have finished reduction in the prior iteration" in str(exc), exc
    assert "extra.weight" in str(exc) and "find_unused_parameters=True" in str(exc), exc
else:
    raise AssertionError("no error for an unused parameter")

# ----- a model that differs across ranks is refused at construction -----------------
if size > 1:
    odd = nn.Linear(3, 3 + (rank == 1), dtype=ember.float64)
    try:
        DDP(odd)
    except RuntimeError as exc:
        assert "DDP expects same model across all ranks" in str(exc), exc
    else:
        raise AssertionError("different models were accepted")

dist.barrier()
dist.destroy_process_group()
if rank == 0:
    print(f"ddp ok {size}", flush=True)
