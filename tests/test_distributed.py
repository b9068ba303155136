"""ember.distributed, DistributedDataParallel and DistributedSampler.

The multi-process tests launch the scripts in tests/distributed_scripts/ under
`mpiexec -n N` (N = 2, and 3 for odd sizes) or as a plain process (a world of
one), with a timeout; each script checks its ranks' results against NumPy or a
single-process run and exits non-zero on any failure. They need the
`distributed` extra (mpi4py and MPICH, also in the `test` extra) and skip with
the reason when it is missing. The rest runs in this process: the
post-accumulate-grad hooks DDP is built on, the sampler and the refusals before
init_process_group, all against torch.
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import ember
import ember.distributed as edist
import numpy as np
import pytest

torch = pytest.importorskip("torch")
tdist = pytest.importorskip("torch.distributed")

SCRIPTS = Path(__file__).parent / "distributed_scripts"
TIMEOUT = 60  # seconds for one mpiexec job; a hang fails the test instead of the run


def _mpiexec():
    beside = Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.exists() else shutil.which("mpiexec")


def _mpi_missing():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return "mpi4py is not installed: pip install 'ember[distributed]'"
    if _mpiexec() is None:
        return "no mpiexec: pip install 'ember[distributed]' (mpich)"
    return None


needs_mpi = pytest.mark.skipif(_mpi_missing() is not None, reason=str(_mpi_missing()))


def run(script, n, *args, timeout=TIMEOUT):
    """Runs a script on n ranks (n=1: no mpiexec at all); (returncode, output, seconds)."""
    cmd = [sys.executable, str(SCRIPTS / script), *map(str, args)]
    if n > 1:
        cmd = [_mpiexec(), "-n", str(n), *cmd]
    # Two cores: one compute thread per rank keeps the ranks off each other's core.
    env = dict(os.environ, EMBER_NUM_THREADS="1", OMP_NUM_THREADS="1")
    start = time.monotonic()
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL
    )
    return proc.returncode, proc.stdout + proc.stderr, time.monotonic() - start


# ----- multi-process jobs -------------------------------------------------------------


@needs_mpi
@pytest.mark.parametrize("n", [1, 2, 3])
def test_collectives_against_numpy(n):
    code, out, _ = run("collectives.py", n, n)
    assert code == 0 and f"collectives ok {n}" in out, out


@needs_mpi
@pytest.mark.parametrize("n", [1, 3])
def test_ddp_equals_one_process_on_the_whole_batch(n):
    code, out, _ = run("ddp.py", n)
    assert code == 0 and f"ddp ok {n}" in out, out


@needs_mpi
def test_ddp_on_two_ranks_equals_torch_on_the_whole_batch(tmp_path):
    saved = tmp_path / "sgd.npz"
    code, out, _ = run("ddp.py", 2, saved)
    assert code == 0 and "ddp ok 2" in out, out
    params = np.load(saved)

    # The script's SGD run, in torch, in one process, on whole batches.
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = torch.nn.Linear(5, 16)
            self.fc2 = torch.nn.Linear(16, 3)

        def forward(self, x):
            return self.fc2(torch.tanh(self.fc1(x)))

    net = Net().double()
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.copy_(torch.from_numpy(params[f"initial.{name}"]))
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(1)
    for _ in range(4):
        x = torch.from_numpy(rng.standard_normal((12, 5)))
        y = torch.from_numpy(rng.standard_normal((12, 3)))
        opt.zero_grad()
        torch.nn.functional.mse_loss(net(x), y).backward()
        opt.step()
    for name, p in net.named_parameters():
        np.testing.assert_allclose(params[f"final.{name}"], p.detach().numpy(), rtol=0, atol=1e-9)


@needs_mpi
@pytest.mark.parametrize(
    "mode, message",
    [
        ("raise", "rank 1 fails on purpose"),
        ("kill", "BAD TERMINATION"),
        ("hang", "Watchdog caught collective operation timeout"),
    ],
)
def test_a_failing_rank_ends_the_job(mode, message):
    code, out, seconds = run("failure.py", 2, mode, timeout=30)
    assert code != 0, out
    assert message in out, out
    assert "finished an all-reduce without rank 1" not in out
    assert seconds < 15, f"took {seconds:.1f} s"
    if mode == "hang":
        assert "Timed out waiting 200ms for all_reduce to complete" in out, out


@needs_mpi
def test_example_trains_the_same_as_one_process():
    example = Path(__file__).parent.parent / "examples" / "ddp_digits.py"
    env = dict(os.environ, EMBER_NUM_THREADS="1")
    proc = subprocess.run(
        [_mpiexec(), "-n", "2", sys.executable, str(example), "--epochs", "2", "--check"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "same as one process: True" in out, out


# ----- in this process: no MPI ----------------------------------------------------------


def test_refusals_before_init_process_group():
    assert not edist.is_initialized() and edist.is_available()
    for fn in (
        lambda d: d.get_rank(),
        lambda d: d.get_world_size(),
        lambda d: d.barrier(),
        lambda d: d.all_reduce(ember.ones(2) if d is edist else torch.ones(2)),
    ):
        with pytest.raises(ValueError) as got:
            fn(edist)
        with pytest.raises(ValueError) as want:
            fn(tdist)
        assert str(got.value) == str(want.value)
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        ember.nn.parallel.DistributedDataParallel(ember.nn.Linear(2, 2))


def test_importing_ember_loads_no_mpi():
    code = "import sys, ember, ember.distributed; sys.exit('mpi4py' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=TIMEOUT).returncode == 0


def test_backends_other_than_mpi_are_refused():
    with pytest.raises(RuntimeError, match="Distributed package doesn't have NCCL built in"):
        edist.init_process_group("nccl")
    with pytest.raises(RuntimeError, match="Ember's only backend is 'mpi'"):
        edist.init_process_group("gloo")
    with pytest.raises(AssertionError, match="Unknown backend type foo"):
        edist.init_process_group("foo")
    assert not edist.is_initialized()


def test_reduce_op_names():
    for name in ("SUM", "AVG", "PRODUCT", "MIN", "MAX", "BAND", "BOR", "BXOR"):
        assert getattr(edist.ReduceOp, name).value == getattr(tdist.ReduceOp, name).value
        assert getattr(edist.ReduceOp, name).name == name
    assert edist.GroupMember.NON_GROUP_MEMBER == tdist.GroupMember.NON_GROUP_MEMBER
    assert edist.default_pg_timeout == tdist.default_pg_timeout


def test_distributed_sampler_matches_torch():
    from ember.utils.data.distributed import DistributedSampler
    from torch.utils.data.distributed import DistributedSampler as TorchSampler

    assert ember.utils.data.DistributedSampler is DistributedSampler
    for n, replicas, shuffle, drop_last in [
        (10, 3, True, False),
        (10, 3, True, True),
        (10, 3, False, False),
        (2, 5, True, False),  # fewer items than ranks: padded by repetition
        (17, 4, True, True),
    ]:
        for rank in range(replicas):
            ours = DistributedSampler(
                range(n), replicas, rank, shuffle=shuffle, seed=5, drop_last=drop_last
            )
            theirs = TorchSampler(
                range(n), replicas, rank, shuffle=shuffle, seed=5, drop_last=drop_last
            )
            for epoch in (0, 3):
                ours.set_epoch(epoch)
                theirs.set_epoch(epoch)
                assert list(ours) == list(theirs)
                assert len(ours) == len(theirs)
    with pytest.raises(
        ValueError, match=r"Invalid rank 3, rank should be in the interval \[0, 2\]"
    ):
        DistributedSampler(range(4), num_replicas=3, rank=3)


# ----- post-accumulate-grad hooks (what DDP listens to) -----------------------------------


def _post_hook_run(lib):
    w = lib.ones(3, requires_grad=True)
    b = lib.zeros(3, requires_grad=True)
    seen = []
    w.register_hook(lambda g: seen.append(("tensor hook", g.sum().item())))
    w.register_post_accumulate_grad_hook(lambda p: seen.append(("w", p is w, p.grad.tolist())))
    handle = b.register_post_accumulate_grad_hook(lambda p: seen.append(("b", p.grad.tolist())))
    (w * 2 + b).sum().backward()
    (w * 3).sum().backward()  # accumulates: the hook sees the sum
    lib.autograd.grad((w * b).sum(), [w, b])  # no .grad is accumulated: no post hooks
    handle.remove()
    (w + b).sum().backward()
    return seen


def test_post_accumulate_grad_hooks_match_torch():
    assert _post_hook_run(ember) == _post_hook_run(torch)


def test_post_accumulate_grad_hook_refusals_match_torch():
    def refusals(lib):
        out = []
        for fn in (
            lambda: lib.ones(2).register_post_accumulate_grad_hook(lambda p: None),
            lambda: (lib.ones(2, requires_grad=True) * 2).register_post_accumulate_grad_hook(
                lambda p: None
            ),
        ):
            with pytest.raises(RuntimeError) as info:
                fn()
            out.append(str(info.value))
        w = lib.ones(2, requires_grad=True)
        w.register_post_accumulate_grad_hook(lambda p: 3)
        with pytest.raises(TypeError) as info:
            (w * 2).sum().backward()
        out.append(str(info.value))
        return out

    assert refusals(ember) == refusals(torch)


def test_post_accumulate_grad_hook_cycles_are_collected():
    import gc
    import weakref

    class Owner:
        pass

    def hook_holding(obj):
        return lambda p: obj

    owner = Owner()
    owner.w = ember.ones(2, requires_grad=True)
    owner.w.register_post_accumulate_grad_hook(hook_holding(owner))  # owner -> w -> hook -> owner
    ref = weakref.ref(owner)
    del owner
    gc.collect()
    assert ref() is None
