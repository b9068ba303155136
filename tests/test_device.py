"""ember.device and the device= arguments, against torch's behaviour."""

import ember
import pytest
import torch
from conftest import compare, outcome


@pytest.mark.parametrize(
    "args",
    [("cpu",), ("cpu:0",), ("cpu", 1), ("cuda",), ("cuda:1",), ("cuda", 2), ("mps",)],
    ids=str,
)
def test_device_parses_and_prints_like_torch(args):
    e, t = ember.device(*args), torch.device(*args)
    assert (e.type, e.index, str(e)) == (t.type, t.index, str(t))
    assert repr(e) == repr(t)
    assert (e == ember.device("cpu")) == (t == torch.device("cpu"))


@pytest.mark.parametrize("args", [("CPU",), ("",), ("cuda:x",), ("cpu:-1",), (0,), (None,), (1.5,)])
def test_bad_devices_raise_torchs_exception_type(args):
    _, e = outcome(lambda lib: lib.device(*args), ember)
    _, t = outcome(lambda lib: lib.device(*args), torch)
    assert t is not None and type(e) is type(t), (e, t)


def test_devices_hash_and_copy_like_values():
    import copy
    import pickle

    d = ember.device("cuda", 1)
    assert {d: 1}[ember.device("cuda:1")] == 1
    assert pickle.loads(pickle.dumps(d)) == d == copy.deepcopy(d)
    assert ember.device(d) == d


FACTORIES = {
    "zeros": lambda L, dev: L.zeros(2, device=dev),
    "ones_like": lambda L, dev: L.ones_like(L.zeros(2), device=dev),
    "full": lambda L, dev: L.full((2,), 1.0, device=dev),
    "full_like": lambda L, dev: L.full_like(L.zeros(2), 1.0, device=dev),
    "tensor": lambda L, dev: L.tensor([1.0], device=dev),
    "as_tensor": lambda L, dev: L.as_tensor([1.0], device=dev),
    "arange": lambda L, dev: L.arange(3, device=dev),
    "linspace": lambda L, dev: L.linspace(0, 1, 3, device=dev),
    "eye": lambda L, dev: L.eye(2, device=dev),
    "randn": lambda L, dev: L.randn(2, device=dev).zero_(),
    "rand_like": lambda L, dev: L.rand_like(L.zeros(2), device=dev).zero_(),
    "randint": lambda L, dev: L.randint(3, (2,), device=dev).zero_(),
    "randperm": lambda L, dev: L.randperm(3, device=dev).sort().values,
    "to": lambda L, dev: L.ones(2).to(dev),
    "to_keyword": lambda L, dev: L.ones(2).to(device=dev, dtype=L.float64),
}


@pytest.mark.parametrize("dev", ["cpu", "cpu:0", "cuda", "cuda:0", "meta_typo", "xla:x"])
@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_factories_accept_the_cpu_and_refuse_other_devices(name, dev):
    def run(lib):
        where = lib.device(dev) if dev in ("cpu", "cuda") else dev
        return FACTORIES[name](lib, where)

    compare(run)


def test_module_to_and_cuda_refuse_cuda_like_torch():
    for fn in (lambda L: L.nn.Linear(2, 2).to("cuda"), lambda L: L.nn.Linear(2, 2).cuda()):
        _, e = outcome(fn, ember)
        _, t = outcome(fn, torch)
        assert type(e) is type(t) is AssertionError
    assert isinstance(ember.nn.Linear(2, 2).to("cpu"), ember.nn.Linear)
