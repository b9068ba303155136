"""ember.multiprocessing and shared memory: Hogwild updates from forked
processes land in the parent's parameters, as with torch."""

import ember
import ember.multiprocessing as mp
import numpy as np
import pytest


def _add_rank(rank, model):
    with ember.no_grad():
        model.weight.add_(rank + 1)


def test_forked_processes_update_a_shared_model():
    model = ember.nn.Linear(3, 2)
    before = model.weight.detach().clone()
    assert model.share_memory() is model
    assert all(p.is_shared() for p in model.parameters())
    context = mp.get_context("fork")
    workers = [context.Process(target=_add_rank, args=(r, model)) for r in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
        assert w.exitcode == 0
    np.testing.assert_allclose(model.weight.detach().numpy(), before.numpy() + 3.0)


def test_share_memory_keeps_values_views_and_autograd():
    x = ember.arange(6.0).reshape(2, 3)
    row = x[1]
    assert not x.is_shared()
    assert x.share_memory_() is x and x.is_shared() and row.is_shared()
    row.mul_(10)  # a view made before the move writes into the shared buffer
    assert x.tolist() == [[0.0, 1.0, 2.0], [30.0, 40.0, 50.0]]
    w = ember.ones(3, requires_grad=True)
    (x * w).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [30.0, 41.0, 52.0])


def test_numpy_view_from_before_the_move_stays_valid():
    # torch frees the old buffer under such a view (it then reads garbage);
    # Ember keeps it: the view holds the old values and no longer sees the tensor
    x = ember.ones(1000)
    array = x.numpy()
    x.share_memory_()
    x.mul_(2)
    assert float(array.sum()) == 1000.0 and float(x.sum()) == 2000.0


def _fail(rank):
    if rank == 1:
        raise ValueError("rank one fails")


def _write(rank, path):
    ember.save(ember.full((2,), float(rank)), f"{path}/{rank}.pt")


def test_spawn_runs_each_rank_and_reports_a_failure(tmp_path):
    mp.spawn(_write, args=(str(tmp_path),), nprocs=2)
    assert [ember.load(tmp_path / f"{r}.pt").tolist() for r in range(2)] == [[0.0, 0.0], [1.0, 1.0]]
    with pytest.raises(mp.ProcessRaisedException, match="rank one fails"):
        mp.spawn(_fail, nprocs=2)


def test_module_exposes_python_multiprocessing_and_sharing_strategies():
    assert mp.Process is not None and mp.Queue is not None
    assert mp.get_sharing_strategy() in mp.get_all_sharing_strategies()
    with pytest.raises(AssertionError):
        mp.set_sharing_strategy("nonsense")
