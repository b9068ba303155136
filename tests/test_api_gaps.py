"""Small torch forms real training scripts use, against torch 2.13.0.

multinomial (same samples for the same seed), the legacy Variable, keepdims=,
range indices, torch.accelerator/backends/cuda seeding, module paths,
optim.LBFGS and histogram/histc.
"""

from __future__ import annotations

import warnings

import ember
import numpy as np
import pytest
import torch
from conftest import capture

# ----- multinomial -------------------------------------------------------------------


def _multinomial_case(rng):
    ndim = int(rng.integers(1, 3))
    ncat = int(rng.choice([1, 2, 3, 5, 17, 64, 100, 1000]))
    shape = (ncat,) if ndim == 1 else (int(rng.integers(1, 5)), ncat)
    dtype = str(rng.choice(["float32", "float64"]))
    p = rng.random(shape).astype(dtype)
    if rng.random() < 0.3:
        p[rng.random(shape) < 0.5] = 0
    if rng.random() < 0.2:
        p = p**8
    p.reshape(-1, ncat)[:, 0] += 1e-3
    replacement = bool(rng.random() < 0.5)
    k = int(rng.integers(1, ncat + 1)) if not replacement else int(rng.choice([1, 2, 5, 50]))
    return p, k, replacement


@pytest.mark.parametrize("block", range(6))
def test_multinomial_draws_torchs_samples(block):
    rng = np.random.default_rng(block)
    for _ in range(40):
        p, k, replacement = _multinomial_case(rng)
        seed = int(rng.integers(0, 2**40))
        if rng.random() < 0.5:
            torch.manual_seed(seed)
            ember.manual_seed(seed)
            a = torch.multinomial(torch.tensor(p), k, replacement)
            b = ember.multinomial(ember.tensor(p), k, replacement)
            after = torch.rand(3).tolist(), ember.rand(3).tolist()
        else:
            gt = torch.Generator().manual_seed(seed)
            ge = ember.Generator().manual_seed(seed)
            a = torch.tensor(p).multinomial(k, replacement, generator=gt)
            b = ember.tensor(p).multinomial(k, replacement, generator=ge)
            after = torch.rand(3, generator=gt).tolist(), ember.rand(3, generator=ge).tolist()
        assert str(b.dtype) == "ember.int64"
        assert b.tolist() == a.tolist(), (p.shape, p.dtype, k, replacement)
        assert after[0] == after[1]  # the generator advanced by the same draws


@pytest.mark.parametrize("n", [3, 5, 17, 64, 65, 200, 640, 1000])
def test_multinomial_zero_probabilities_tie_like_torch(n):
    # more samples than non-zero categories: the zero ones come in torch's topk order
    rng = np.random.default_rng(n)
    for _ in range(15):
        p = np.zeros(n, dtype="float32")
        nz = int(rng.integers(1, max(2, n // 3)))
        p[rng.choice(n, nz, replace=False)] = rng.random(nz) + 0.01
        k = int(rng.integers(nz, n + 1)) if rng.random() < 0.6 else max(1, n // 64)
        seed = int(rng.integers(0, 2**31))
        torch.manual_seed(seed)
        ember.manual_seed(seed)
        a = torch.multinomial(torch.tensor(p), k).tolist()
        assert ember.multinomial(ember.tensor(p), k).tolist() == a


def test_multinomial_transposed_input_draws_in_memory_order():
    for seed in range(5):
        p = np.random.default_rng(seed).random((4, 6)).astype("float32")
        torch.manual_seed(seed)
        ember.manual_seed(seed)
        a = torch.multinomial(torch.tensor(p).t(), 3).tolist()
        assert ember.multinomial(ember.tensor(p).t(), 3).tolist() == a


MULTINOMIAL_ERRORS = [
    lambda L: L.multinomial(L.tensor([0.2, -1.0]), 1),
    lambda L: L.multinomial(L.tensor([0.2, -1.0]), 2, True),
    lambda L: L.multinomial(L.tensor([0.2, float("inf")]), 2, True),
    lambda L: L.multinomial(L.tensor([0.2, float("nan")]), 2, True),
    lambda L: L.multinomial(L.tensor([0.2, float("nan")]), 1),
    lambda L: L.multinomial(L.tensor([0.0, 0.0]), 1),
    lambda L: L.multinomial(L.tensor([0.0, 0.0]), 2, True),
    lambda L: L.multinomial(L.tensor([[0.0, 0.0], [1, 1]]), 1),
    lambda L: L.multinomial(L.tensor([[1.0, 2], [0, -1]]), 2, True),
    lambda L: L.multinomial(L.tensor([0.2, 0.3]), 3),
    lambda L: L.multinomial(L.tensor([0.2, 0.3]), 0),
    lambda L: L.multinomial(L.tensor([0.2, 0.3]), -1),
    lambda L: L.multinomial(L.zeros(0), 1),
    lambda L: L.multinomial(L.zeros(0), 2, True),
    lambda L: L.multinomial(L.zeros(3, 0), 2, True),
    lambda L: L.multinomial(L.zeros(2, 2, 2) + 1, 1),
    lambda L: L.multinomial(L.tensor(1.0), 1),
    lambda L: L.multinomial(L.tensor([1, 2]), 1),
    lambda L: L.multinomial(L.tensor([1.0, 2]), 1.5),
    lambda L: L.multinomial(L.tensor([1.0, 2]), True),
]


@pytest.mark.parametrize("case", range(len(MULTINOMIAL_ERRORS)))
def test_multinomial_errors(case):
    fn = MULTINOMIAL_ERRORS[case]
    te, ee = capture(fn, torch), capture(fn, ember)
    assert te is not None
    assert type(ee) is type(te), (te, ee)
    assert str(ee) == str(te)


def test_multinomial_empty_rows_and_grad_input():
    for fn in [
        lambda L: L.multinomial(L.zeros(0, 3) + 1, 2, True),
        lambda L: L.multinomial(L.zeros(0, 3) + 1, 2),
        lambda L: L.multinomial(L.tensor([1.0, 2], requires_grad=True), 2),
    ]:
        torch.manual_seed(0)
        ember.manual_seed(0)
        a, b = fn(torch), fn(ember)
        assert tuple(b.shape) == tuple(a.shape) and b.tolist() == a.tolist()
        assert not b.requires_grad


# ----- keepdims= ----------------------------------------------------------------------

KEEPDIMS_CASES = [
    ("sum", (1,)),
    ("mean", (1,)),
    ("amax", (1,)),
    ("amin", (0,)),
    ("max", (1,)),
    ("min", (1,)),
    ("std", (1,)),
    ("var", (0,)),
    ("logsumexp", (1,)),
    ("any", (1,)),
    ("all", (0,)),
    ("prod", (1,)),
    ("nansum", (1,)),
    ("nanmean", (1,)),
    ("argmax", (1,)),
    ("argmin", (0,)),
    ("median", (1,)),
    ("std_mean", (1,)),
    ("var_mean", (1,)),
]


def _leaves(out):
    return list(out) if isinstance(out, tuple) else [out]


@pytest.mark.parametrize("name,args", KEEPDIMS_CASES)
@pytest.mark.parametrize("form", ["function", "method"])
@pytest.mark.parametrize("keepdims", [True, False])
def test_keepdims_spelling(name, args, form, keepdims):
    data = np.random.default_rng(0).standard_normal((3, 4)).astype("float32")
    outs = []
    for L in (torch, ember):
        x = L.tensor(data) > 0 if name in ("any", "all") else L.tensor(data)
        if form == "method" and name not in ("std_mean", "var_mean"):
            out = getattr(x, name)(*args, keepdims=keepdims)
        else:
            out = getattr(L, name)(x, *args, keepdims=keepdims)
        outs.append(_leaves(out))
    for t, e in zip(*outs):
        assert tuple(e.shape) == tuple(t.shape)
        np.testing.assert_allclose(e.numpy().astype(float), t.numpy().astype(float), rtol=1e-5)


def test_keepdims_with_grad_and_dim_keyword():
    x = ember.randn(3, 4, requires_grad=True)
    y = x.sum(dim=1, keepdims=True)
    assert y.grad_fn.name() == "SumBackward1"
    (y * 2).sum().backward()
    assert x.grad.tolist() == [[2.0] * 4] * 3
    assert tuple(ember.max(x, dim=0, keepdims=True).values.shape) == (1, 4)
    # a wrong keyword still fails as a TypeError
    with pytest.raises(TypeError):
        x.sum(1, keepdimz=True)
    with pytest.raises(TypeError):
        ember.amax(x, 1, keepdim=True, keepdims=True)
    # torch's norm and cumsum are not parsed by its argument parser: keepdims is refused
    for fn in [
        lambda L: L.norm(L.ones(2, 2), dim=1, keepdims=True),
        lambda L: L.ones(2, 2).norm(dim=1, keepdims=True),
        lambda L: L.ones(2, 2).cumsum(1, keepdims=True),
    ]:
        assert type(capture(fn, ember)) is type(capture(fn, torch)) is TypeError


# ----- indexing with range ------------------------------------------------------------


def test_range_indices_read_and_write():
    data = np.arange(12.0).reshape(3, 4)
    labels = [3, 0, 2]
    for L in (torch, ember):
        x = L.tensor(data, requires_grad=True)
        y = L.tensor(labels)
        picked = x[range(3), y]
        picked.sum().backward()
        assert picked.tolist() == [3.0, 4.0, 10.0]
        assert x.grad.tolist() == [[0, 0, 0, 1], [1, 0, 0, 0], [0, 0, 1, 0]]
        z = L.zeros(3, 4)
        z[range(3), y] = 1.0
        z[range(1, 3)] += 2
        assert z.tolist() == [[0, 0, 0, 1], [3, 2, 2, 2], [2, 2, 3, 2]]
        assert x[range(0)].shape == (0, 4)
        assert x[range(2), range(1, 3)].tolist() == [1.0, 6.0]
        assert x[:, range(0, 4, 2)].tolist() == [[0, 2], [4, 6], [8, 10]]


def test_range_index_out_of_bounds_like_torch():
    def fn(L):
        return L.zeros(3, 4)[range(5), 0]

    te, ee = capture(fn, torch), capture(fn, ember)
    assert type(ee) is type(te) and te is not None


# ----- Variable, accelerator, backends, cuda, module paths ----------------------------


def test_variable_is_the_legacy_tensor_wrapper():
    from ember.autograd import Variable

    x = ember.randn(2)
    v = Variable(x, requires_grad=True)
    assert type(v) is ember.Tensor and v is not x
    assert v.is_leaf and v.requires_grad and not x.requires_grad
    assert v.data_ptr() == x.data_ptr()
    assert isinstance(x, Variable) and not isinstance(1.0, Variable)
    y = (v * 3).sum()
    y.backward()
    assert v.grad.tolist() == [3.0, 3.0]
    w = Variable(v * 2)  # a non-leaf becomes a detached leaf, as in torch
    assert w.grad_fn is None and not w.requires_grad
    assert not Variable(x).requires_grad
    assert tuple(Variable().shape) == (0,)
    for fn in [
        lambda L: L.autograd.Variable([1.0, 2.0]),
        lambda L: L.autograd.Variable(L.tensor([1, 2]), requires_grad=True),
    ]:
        te, ee = capture(fn, torch), capture(fn, ember)
        assert type(ee) is type(te) and str(ee) == str(te)


def test_accelerator_backends_and_cuda_seeding():
    for L in (torch, ember):
        assert L.accelerator.is_available() is False
        assert L.accelerator.current_accelerator() is None
        assert L.accelerator.device_count() == 0
        assert L.backends.mps.is_available() is False
        assert L.backends.mps.is_built() is False
        cudnn = L.backends.cudnn
        assert (cudnn.enabled, cudnn.benchmark, cudnn.deterministic) == (True, False, False)
        assert cudnn.is_available() is False and cudnn.version() is None
        assert L.backends.cuda.matmul.allow_tf32 is False
        assert L.cuda.manual_seed(1) is None and L.cuda.manual_seed_all(1) is None
        assert L.cuda.is_available() is False
    te = capture(lambda L: L.accelerator.current_device_index(), torch)
    ee = capture(lambda L: L.accelerator.current_device_index(), ember)
    assert type(ee) is type(te) and str(ee) == str(te)
    # cuda seeding leaves the CPU stream alone, as in torch
    ember.manual_seed(3)
    torch.manual_seed(3)
    ember.cuda.manual_seed_all(5)
    torch.cuda.manual_seed_all(5)
    assert ember.rand(4).tolist() == torch.rand(4).tolist()
    # a script's settings stick
    import ember.backends.cudnn as cudnn

    cudnn.benchmark = True
    assert ember.backends.cudnn.benchmark is True
    cudnn.benchmark = False


def test_module_paths():
    import ember.utils.data.dataloader as dataloader
    from ember.utils.data.dataset import Dataset, TensorDataset
    from ember.utils.data.sampler import RandomSampler

    assert dataloader.DataLoader is ember.utils.data.DataLoader
    assert dataloader.default_collate is ember.utils.data.default_collate
    assert Dataset is ember.utils.data.Dataset and TensorDataset is ember.utils.data.TensorDataset
    assert RandomSampler is ember.utils.data.RandomSampler
    batch = dataloader.default_collate([ember.tensor([1.0, 2.0]), ember.tensor([3.0, 4.0])])
    assert batch.tolist() == [[1.0, 2.0], [3.0, 4.0]]

    import ember.nn.parallel as parallel

    for L in (torch, ember):
        L.manual_seed(0)
        inner = L.nn.Linear(2, 3)
        m = L.nn.DataParallel(inner)
        assert m.module is inner and list(m.state_dict()) == ["module.weight", "module.bias"]
        assert m(L.ones(1, 2)).tolist() == inner(L.ones(1, 2)).tolist()
    assert repr(ember.nn.DataParallel(ember.nn.Linear(2, 3))) == repr(
        torch.nn.DataParallel(torch.nn.Linear(2, 3))
    )
    with pytest.raises(ValueError, match="init_process_group"):
        parallel.DistributedDataParallel(ember.nn.Linear(2, 3))


# ----- histc / histogram --------------------------------------------------------------


def _hist_data(rng, dtype):
    n = int(rng.integers(0, 300))
    x = rng.standard_normal(n) if rng.random() < 0.7 else rng.random(n) * 1e-3 + 1
    return x.astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_histc_and_histogram_match_torch(dtype):
    rng = np.random.default_rng(4)
    for _ in range(150):
        x = _hist_data(rng, dtype)
        bins = int(rng.integers(1, 40))
        mode = int(rng.integers(0, 5))
        results = []
        for L in (torch, ember):
            t = L.tensor(x)
            if mode == 0:
                out = L.histc(t, bins)
            elif mode == 1:
                out = t.histc(bins=bins, min=-1, max=1.5)
            elif mode == 2:
                out = L.histogram(t, bins)
            elif mode == 3:
                w = L.tensor(np.linspace(0.1, 2, x.size).astype(dtype))
                out = L.histogram(t, bins, range=(-1.0, 1.7), weight=w, density=bool(bins % 2))
            else:
                edges = np.sort(np.random.default_rng(bins).standard_normal(bins + 1))
                out = t.histogram(L.tensor(edges.astype(dtype)))
            results.append(_leaves(out))
        for t, e in zip(*results):
            assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
            np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-5, atol=1e-6)


def test_histogram_result_and_errors():
    x = [1.0, 2, 1, 4, 2.5, 7]
    e = ember.histogram(ember.tensor(x), bins=4)
    t = torch.histogram(torch.tensor(x), bins=4)
    assert e.hist.tolist() == t.hist.tolist() and e.bin_edges.tolist() == t.bin_edges.tolist()
    assert repr(e) == repr(t).replace("torch.", "ember.")
    assert not ember.histc(ember.tensor(x, requires_grad=True), 3).requires_grad
    cases = [
        lambda L: L.histc(L.tensor([1, 2]), bins=4),
        lambda L: L.histc(L.tensor(x), bins=0),
        lambda L: L.histc(L.tensor(x), bins=4, min=3, max=1),
        lambda L: L.histc(L.tensor([2.0, 2.0]), bins=4),
        lambda L: L.histc(L.zeros(0), bins=4),
        lambda L: L.histc(L.tensor([1.0, float("inf")]), bins=4),
        lambda L: L.histogram(L.tensor([1, 2]), 3),
        lambda L: L.histogram(L.tensor(x), bins=-1),
        lambda L: L.histogram(L.tensor([2.0, 2.0]), bins=2),
        lambda L: L.histogram(L.zeros(0), 3),
        lambda L: L.histogram(L.tensor(x), 3, range=(2.0, 1.0)),
        lambda L: L.histogram(L.tensor(x), L.tensor([0, 1])),
        lambda L: L.histogram(L.tensor(x, dtype=L.float64), L.tensor([0.0, 1])),
    ]
    for i, fn in enumerate(cases):
        te, ee = capture(fn, torch), capture(fn, ember)
        if te is None:
            a, b = _leaves(fn(torch)), _leaves(fn(ember))
            for u, v in zip(a, b):
                np.testing.assert_allclose(v.numpy(), u.numpy(), err_msg=str(i))
        else:
            assert type(ee) is type(te), (i, te, ee)
            assert str(ee) == str(te), i


# ----- LBFGS --------------------------------------------------------------------------


def _lbfgs_run(L, problem, dtype, steps=4, **kw):
    dt = getattr(L, dtype)
    rng = np.random.default_rng(0)
    if problem == "rosenbrock":
        x = L.tensor(np.array([-1.5, 2.0]), dtype=dt, requires_grad=True)
        params = [x]

        def f():
            return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2

    else:
        A = L.tensor(rng.standard_normal((30, 5)), dtype=dt)
        y = L.tensor((rng.random(30) > 0.5).astype(float), dtype=dt)
        w = L.tensor(rng.standard_normal(5) * 0.1, dtype=dt, requires_grad=True)
        b = L.zeros(1, dtype=dt, requires_grad=True)
        params = [w, b]

        def f():
            logits = A @ w + b
            return (
                L.nn.functional.binary_cross_entropy_with_logits(logits, y) + 0.01 * (w * w).sum()
            )

    opt = L.optim.LBFGS(params, **kw)
    path, losses = [], []
    for _ in range(steps):

        def closure():
            opt.zero_grad()
            loss = f()
            loss.backward()
            return loss

        losses.append(float(opt.step(closure)))
        path.append(np.concatenate([p.detach().numpy().ravel() for p in params]))
    state = opt.state[params[0]]
    return np.array(path), losses, state["func_evals"], state["n_iter"]


LBFGS_CASES = [
    ("rosenbrock", "float64", dict(lr=0.5, max_iter=7, history_size=3)),
    ("rosenbrock", "float64", dict(line_search_fn="strong_wolfe")),
    (
        "rosenbrock",
        "float64",
        dict(line_search_fn="strong_wolfe", lr=0.5, max_iter=7, history_size=3),
    ),
    ("logistic", "float64", dict()),
    ("logistic", "float64", dict(lr=0.5, max_iter=7, history_size=3)),
    (
        "logistic",
        "float64",
        dict(line_search_fn="strong_wolfe", lr=0.5, max_iter=7, history_size=3),
    ),
    ("logistic", "float32", dict(lr=0.5, max_iter=7, history_size=3)),
    ("logistic", "float32", dict(line_search_fn="strong_wolfe", max_iter=5)),
]


@pytest.mark.parametrize("problem,dtype,kw", LBFGS_CASES)
def test_lbfgs_iterates_track_torch(problem, dtype, kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # float(loss) of a tensor requiring grad warns
        t_path, t_loss, t_evals, t_iters = _lbfgs_run(torch, problem, dtype, **kw)
        e_path, e_loss, e_evals, e_iters = _lbfgs_run(ember, problem, dtype, **kw)
    if dtype == "float64":
        assert (e_evals, e_iters) == (t_evals, t_iters)
        np.testing.assert_allclose(e_path, t_path, rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(e_loss, t_loss, rtol=1e-9, atol=1e-10)
    else:
        # In float32 the line search and stopping tests compare values at the
        # rounding noise, which Ember's kernels do not reproduce bit for bit:
        # a step may stop one evaluation apart, so compare where it ends.
        np.testing.assert_allclose(e_path[-1], t_path[-1], rtol=1e-3, atol=1e-4)
        np.testing.assert_allclose(e_loss[-1], t_loss[-1], rtol=1e-4)
    assert np.abs(t_path[-1] - t_path[0]).max() > 1e-3 or problem == "logistic"


def test_lbfgs_state_and_errors():
    p = ember.nn.Parameter(ember.tensor([1.0, -2.0]))
    opt = ember.optim.LBFGS([p], line_search_fn="strong_wolfe")
    assert opt.defaults["max_eval"] == 25 and opt.defaults["history_size"] == 100

    def closure():
        opt.zero_grad()
        loss = (p**2).sum()
        loss.backward()
        return loss

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loss = opt.step(closure)
    assert float(loss.detach()) == 5.0 and float((p**2).sum()) < 1e-10
    assert set(opt.state[p]) >= {"func_evals", "n_iter", "d", "t", "old_dirs", "H_diag"}
    for fn in [
        lambda L: L.optim.LBFGS([L.nn.Parameter(L.zeros(2))], lr=-1),
        lambda L: L.optim.LBFGS(
            [{"params": [L.nn.Parameter(L.zeros(2))]}, {"params": [L.nn.Parameter(L.zeros(2))]}]
        ),
    ]:
        te, ee = capture(fn, torch), capture(fn, ember)
        assert type(ee) is type(te) and str(ee) == str(te)
    q = ember.nn.Parameter(ember.tensor([1.0]))
    bad = ember.optim.LBFGS([q], line_search_fn="armijo")

    def closure_q():
        bad.zero_grad()
        loss = (q * q).sum()
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        bad.step(closure_q)
