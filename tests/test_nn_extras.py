"""nn.Buffer, SyncBatchNorm, the Lazy convolutions and normalizations,
InstanceNorm's running statistics and fractional max pooling, against torch."""

import numpy as np
import pytest
from conftest import capture
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
ember = pytest.importorskip("ember")


def same(e, t, tol=1e-6):
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=tol, atol=tol)


def test_buffer_registers_on_assignment():
    for lib in (ember, torch):
        m = lib.nn.Module()
        m.kept = lib.nn.Buffer(lib.ones(2))
        m.scratch = lib.nn.Buffer(lib.zeros(1), persistent=False)
        assert [n for n, _ in m.named_buffers()] == ["kept", "scratch"]
        assert list(m.state_dict()) == ["kept"]
        assert isinstance(m.kept, lib.nn.Buffer) and not isinstance(lib.ones(1), lib.nn.Buffer)
        assert not m.kept.requires_grad
        assert lib.nn.parameter.Buffer is lib.nn.Buffer


def test_sync_batch_norm_is_batch_norm_in_one_process():
    x = np.random.default_rng(0).standard_normal((4, 3, 5)).astype(np.float32)
    outs = {}
    for lib in (ember, torch):
        model = lib.nn.Sequential(lib.nn.Conv1d(3, 3, 1), lib.nn.BatchNorm1d(3, momentum=None))
        bn = model[1]
        converted = lib.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        sync = converted[1]
        assert type(sync).__name__ == "SyncBatchNorm" and sync.weight is bn.weight
        assert sync.running_mean is bn.running_mean
        inp = lib.tensor(x, requires_grad=True)
        y = sync(inp)
        y.sum().backward()
        outs[lib] = (y, inp.grad, sync.running_var, repr(sync), type(y.grad_fn).__name__)
        assert type(
            lib.nn.SyncBatchNorm.convert_sync_batchnorm(lib.nn.BatchNorm2d(2))
        ).__name__ == ("SyncBatchNorm")
    (ey, eg, ev, er, en), (ty, tg, tv, tr, tn) = outs[ember], outs[torch]
    same(ey, ty), same(eg, tg), same(ev, tv)
    assert er == tr and en == tn
    for bad in (np.zeros(3, np.float32), np.zeros((2, 0, 3), np.float32)):
        e = capture(lambda lib: lib.nn.SyncBatchNorm(3)(lib.tensor(bad)), ember)
        t = capture(lambda lib: lib.nn.SyncBatchNorm(3)(lib.tensor(bad)), torch)
        assert type(e) is type(t) and str(e) == str(t)


LAZY_CONV = [
    ("LazyConv1d", 1, {}),
    ("LazyConv2d", 2, dict(stride=2, padding=1, groups=1)),
    ("LazyConv3d", 3, dict(bias=False)),
    ("LazyConvTranspose1d", 1, dict(output_padding=1, stride=2)),
    ("LazyConvTranspose2d", 2, {}),
    ("LazyConvTranspose3d", 3, dict(dilation=2)),
]


@pytest.mark.parametrize("name,dims,kwargs", LAZY_CONV)
@pytest.mark.parametrize("batched", [True, False])
def test_lazy_conv(name, dims, kwargs, batched):
    x = np.random.default_rng(1).standard_normal((2, 4, *[5] * dims)[0 if batched else 1 :])
    x = x.astype(np.float32)
    results = {}
    for lib in (ember, torch):
        lib.manual_seed(0)
        m = getattr(lib.nn, name)(3, 2, **kwargs)
        before = (repr(m), type(m.weight).__name__, m.has_uninitialized_params())
        y = m(lib.tensor(x))
        results[lib] = (before, repr(m), type(m).__name__, y, m.weight)
    (eb, er, en, ey, ew), (tb, tr, tn, ty, tw) = results[ember], results[torch]
    assert (eb, er, en) == (tb, tr, tn)
    same(ew, tw), same(ey, ty, 1e-5)


@pytest.mark.parametrize("kind", ["BatchNorm", "InstanceNorm"])
@pytest.mark.parametrize("dims", [1, 2, 3])
def test_lazy_norm(kind, dims):
    x = np.random.default_rng(2).standard_normal((3, 4, *[3] * dims)).astype(np.float64)
    results = {}
    for lib in (ember, torch):
        m = getattr(lib.nn, f"Lazy{kind}{dims}d")(dtype=lib.float64)
        before = (repr(m), [n for n, _ in m.named_buffers()], [n for n, _ in m.named_parameters()])
        y = m(lib.tensor(x))
        m.eval()
        z = m(lib.tensor(x))
        results[lib] = (before, repr(m), type(m).__name__, y, z, m.state_dict())
    e, t = results[ember], results[torch]
    assert e[:3] == t[:3]
    same(e[3], t[3], 1e-9), same(e[4], t[4], 1e-9)
    assert list(e[5]) == list(t[5])
    for key in t[5]:
        same(e[5][key], t[5][key], 1e-9)


def test_instance_norm_running_stats():
    x = np.random.default_rng(3).standard_normal((2, 3, 6)).astype(np.float64)
    results = {}
    for lib in (ember, torch):
        m = lib.nn.InstanceNorm1d(3, affine=True, track_running_stats=True, momentum=0.3)
        m.double()
        inp = lib.tensor(x, requires_grad=True)
        y = m(inp)
        (y * lib.arange(6.0, dtype=lib.float64)).sum().backward()
        m.eval()
        results[lib] = (y, inp.grad, m.weight.grad, m.running_mean, m.running_var, m(inp))
    for a, b in zip(results[ember], results[torch]):
        same(a, b, 1e-9)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@settings(max_examples=25, deadline=None)
@given(
    batch=st.sampled_from([(), (1,), (2,)]),
    channels=st.integers(1, 3),
    size=st.tuples(st.integers(4, 11), st.integers(4, 11)),
    kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    seed=st.integers(0, 1000),
    data=st.data(),
)
def test_fractional_max_pool2d(dtype, batch, channels, size, kernel, seed, data):
    out = tuple(data.draw(st.integers(1, s - k + 1)) for s, k in zip(size, kernel))
    x = np.random.default_rng(seed).standard_normal((*batch, channels, *size)).astype(dtype)
    results = {}
    for lib in (ember, torch):
        lib.manual_seed(seed)  # the windows come from the generator, as torch's
        inp = lib.tensor(x, requires_grad=True)
        y, idx = lib.nn.functional.fractional_max_pool2d(
            inp, kernel, output_size=out, return_indices=True
        )
        (y * y).sum().backward()
        results[lib] = (y, idx, inp.grad, type(y.grad_fn).__name__)
    (ey, ei, eg, en), (ty, ti, tg, tn) = results[ember], results[torch]
    assert en == tn and ei.tolist() == ti.tolist()
    same(ey, ty), same(eg, tg)


def test_fractional_max_pool2d_module_and_errors():
    x = np.random.default_rng(4).standard_normal((2, 3, 9, 9)).astype(np.float32)
    samples = np.random.default_rng(5).random((2, 3, 2)).astype(np.float32)
    ys = []
    for lib in (ember, torch):
        m = lib.nn.FractionalMaxPool2d(
            3, output_ratio=(0.5, 0.6), _random_samples=lib.tensor(samples)
        )
        ys.append((m(lib.tensor(x)), repr(m)))
    same(ys[0][0], ys[1][0])
    assert ys[0][1] == ys[1][1]
    cases = [
        lambda lib: lib.nn.functional.fractional_max_pool2d(lib.tensor(x), 3),
        lambda lib: lib.nn.functional.fractional_max_pool2d(lib.tensor(x), 3, output_size=(8, 8)),
        lambda lib: lib.nn.functional.fractional_max_pool2d(
            lib.tensor(x), 3, output_size=4, _random_samples=lib.rand(1, 3, 2)
        ),
        lambda lib: lib.nn.functional.fractional_max_pool2d(
            lib.tensor(x), 3, output_size=4, _random_samples=lib.rand(2, 3, 2).double()
        ),
        lambda lib: lib.nn.FractionalMaxPool2d(3, output_ratio=1.5),
        lambda lib: lib.nn.FractionalMaxPool2d(3),
        lambda lib: lib.nn.FractionalMaxPool2d(3, output_size=2, output_ratio=0.5),
    ]
    for case in cases:
        e, t = capture(case, ember), capture(case, torch)
        assert t is not None and type(e) is type(t) and str(e) == str(t), (e, t)
