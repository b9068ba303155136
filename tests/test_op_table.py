"""Every entry of the op table (tests/op_table.py) against torch: values per
dtype, gradients, gradcheck and gradgradcheck, dtype promotion, out= and
errors; and the table covers every public op Ember has."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import ember
import numpy as np
import pytest
import torch
from conftest import assert_same
from op_table import ALL, FLOATS, OPS, arguments, arrays, count_castable, is_inplace
from op_table_exclusions import EXCLUDED

ROOT = Path(__file__).resolve().parent.parent
OP_NAMESPACES = ("torch", "torch.Tensor", "torch.nn.functional", "torch.linalg", "torch.special")

PROMOTION_PAIRS = [
    ("float32", "float64"),
    ("int64", "float32"),
    ("int32", "int64"),
    ("uint8", "int8"),
    ("bool", "int64"),
    ("float16", "bfloat16"),
    ("int16", "float16"),
]


# ---------------------------------------------------------------- running a form


def outcome(call, lib, sample, dtypes, **kwargs):
    """(result, None) of call on sample's arguments for lib, or (None, the exception)."""
    try:
        args, kw, _ = arguments(lib, sample, dtypes)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return call(lib, args, {**kw, **kwargs}), None
    except Exception as exc:  # noqa: BLE001
        return None, exc


def assert_matches(e, t, tol, where=""):
    """Ember's result e equals torch's t: tensors by shape, dtype and value."""
    if isinstance(t, torch.Tensor):
        assert isinstance(e, ember.Tensor), f"{where}: ember gave {type(e).__name__}"
        if t._is_zerotensor():  # torch's symbolic zero gradient (sgn's) has no memory to read
            t = torch.zeros(t.shape, dtype=t.dtype)
        assert_same(e, t, *tol)
    elif isinstance(t, (tuple, list)):
        assert isinstance(e, (tuple, list)) and len(e) == len(t), f"{where}: {e!r} vs {t!r}"
        for i, (a, b) in enumerate(zip(e, t)):
            assert_matches(a, b, tol, f"{where}[{i}]")
    elif isinstance(t, torch.dtype):
        assert str(e).split(".")[-1] == str(t).split(".")[-1], where
    elif isinstance(t, float):
        np.testing.assert_allclose(e, t, *tol, err_msg=where)
    else:
        assert e == t, f"{where}: ember {e!r}, torch {t!r}"


def assert_same_outcome(call, sample, dtypes, tol, where, **kwargs):
    """Both raise the same exception type, or both return equal results."""
    t, t_err = outcome(call, torch, sample, dtypes, **kwargs)
    e, e_err = outcome(call, ember, sample, dtypes, **kwargs)
    if t_err is not None:
        assert e_err is not None, f"{where}: torch raised {t_err!r}, ember returned"
        assert type(e_err) is type(t_err), f"{where}: ember {e_err!r}, torch {t_err!r}"
        return
    assert e_err is None, f"{where}: ember raised {e_err!r}"
    assert_matches(e, t, tol, where)


def tolerance(entry, dtype):
    if entry.tol is not None and dtype in ("float32", "float64"):
        return entry.tol
    return (1e-7, 1e-9) if dtype == "float64" else (1e-5, 1e-6)


def first_form(entry):
    return entry.forms()[0][1]


# ---------------------------------------------------------------- parametrization


def cases(check, rows):
    """pytest params for (entry, extra) rows, marked with the entry's skips and xfails."""
    params = []
    for entry, extra in rows:
        marks = []
        dtype = extra if isinstance(extra, str) else None
        if reason := entry.reason("skip", check, dtype):
            marks.append(pytest.mark.skip(reason=reason))
        if reason := entry.reason("xfail", check, dtype):
            marks.append(pytest.mark.xfail(strict=True, reason=reason))
        label = entry.name if extra is None else f"{entry.name}-{extra}"
        params.append(pytest.param(entry, extra, marks=marks, id=label))
    return params


def _has_leaves(sample):
    return count_castable((sample.args, sample.kwargs)) > 0


def _reference_dtype(entry):
    return "float32" if "float32" in entry.dtypes else entry.dtypes[-1]


VALUE_CASES = cases("values", [(e, d) for e in OPS for d in e.dtypes])
GRAD_CASES = cases("grad", [(e, None) for e in OPS if e.grad])
GRADCHECK_CASES = cases("gradcheck", [(e, None) for e in OPS if e.grad])
GRADGRAD_CASES = cases("gradgradcheck", [(e, None) for e in OPS if e.gradgrad and e.grad])
OUT_CASES = cases("out", [(e, None) for e in OPS if e.out])
OUT_DTYPE_CASES = cases("out_dtype", [(e, None) for e in OPS if e.out])
PROMOTION_CASES = cases(
    "promotion",
    [(e, None) for e in OPS if any(count_castable(s.args) >= 2 for s in e.samples())],
)
ERROR_CASES = cases(
    "errors",
    [(e, None) for e in OPS if e.errors is not None or set(ALL) - set(e.dtypes)],
)


# ---------------------------------------------------------------- values per dtype


@pytest.mark.parametrize("entry,dtype", VALUE_CASES)
def test_values_match_torch(entry, dtype):
    tol = tolerance(entry, dtype)
    for sample in entry.samples():
        for label, call in entry.forms():
            where = f"{label}{sample!r} {dtype}"
            if is_inplace(label):
                assert_same_outcome(call, sample, dtype, tol, where)
                continue
            t, t_err = outcome(call, torch, sample, dtype)
            assert t_err is None, f"{where}: the table declares {dtype}, torch refuses: {t_err!r}"
            e, e_err = outcome(call, ember, sample, dtype)
            assert e_err is None, f"{where}: ember raised {e_err!r}"
            assert_matches(e, t, tol, where)


# ---------------------------------------------------------------- gradients


def _float_outputs(result):
    if isinstance(result, (tuple, list)):
        return [y for r in result for y in _float_outputs(r)]
    is_tensor = hasattr(result, "requires_grad")
    return [result] if is_tensor and result.is_floating_point() and result.requires_grad else []


def gradients(lib, call, sample):
    """Gradients of a fixed weighted sum of the float outputs, per leaf (zeros if unused)."""
    args, kwargs, leaves = arguments(lib, sample, "float64", requires_grad=True)
    outputs = _float_outputs(call(lib, args, kwargs))
    if not outputs:
        return None
    rng = np.random.default_rng(5)
    total = sum((y * lib.tensor(rng.standard_normal(tuple(y.shape)))).sum() for y in outputs)
    found = lib.autograd.grad(total, leaves, allow_unused=True)
    return [lib.zeros_like(x) if g is None else g for g, x in zip(found, leaves)]


@pytest.mark.parametrize("entry,_", GRAD_CASES)
def test_gradients_match_torch(entry, _):
    call = first_form(entry)
    tol = tolerance(entry, "float64")
    samples = [s for s in entry.samples() if _has_leaves(s)]
    assert samples, "a differentiable entry needs a sample with tensor arguments"
    for sample in samples:
        t = gradients(torch, call, sample)
        e = gradients(ember, call, sample)
        if t is None:
            assert e is None, f"{sample!r}: ember's result requires grad, torch's does not"
            continue
        assert e is not None, f"{sample!r}: ember's result does not require grad"
        assert_matches(e, t, tol, f"grad {sample!r}")


def _small_samples(entry, count):
    """Up to count samples with 2 to 120 input elements: gradcheck's cost grows
    with them, and a single element makes var and std undefined."""
    sizes = [(s, sum(a.size for a in arrays((s.args, s.kwargs)))) for s in entry.samples()]
    return [s for s, size in sizes if 1 < size <= 120][:count]


def _function_of_leaves(call, sample):
    def fn(*leaves):
        args, kwargs, _ = arguments(ember, sample, "float64", given=list(leaves))
        result = call(ember, args, kwargs)
        return tuple(result) if isinstance(result, (tuple, list)) else result

    return fn


@pytest.mark.parametrize("entry,_", GRADCHECK_CASES)
def test_gradcheck(entry, _):
    call = first_form(entry)
    samples = _small_samples(entry, 2)
    assert samples, "gradcheck needs a small sample with tensor arguments"
    for sample in samples:
        _, _, leaves = arguments(ember, sample, "float64", requires_grad=True)
        assert ember.autograd.gradcheck(_function_of_leaves(call, sample), leaves)


@pytest.mark.parametrize("entry,_", GRADGRAD_CASES)
def test_gradgradcheck(entry, _):
    call = first_form(entry)
    for sample in _small_samples(entry, 1):
        _, _, leaves = arguments(ember, sample, "float64", requires_grad=True)
        assert ember.autograd.gradgradcheck(_function_of_leaves(call, sample), leaves)


# ---------------------------------------------------------------- promotion, out=, errors


@pytest.mark.parametrize("entry,_", PROMOTION_CASES)
def test_mixed_dtypes_promote_as_torch(entry, _):
    call = first_form(entry)
    samples = [s for s in entry.samples() if count_castable(s.args) >= 2]
    for sample in samples[:3]:
        for pair in PROMOTION_PAIRS:
            tol = tolerance(entry, pair[-1])
            assert_same_outcome(call, sample, pair, tol, f"{sample!r} {pair}")


def _tensors(result):
    """result's tensors when it is one tensor or a tuple of them, else None."""
    if isinstance(result, torch.Tensor):
        return [result]
    if isinstance(result, tuple) and result and all(isinstance(t, torch.Tensor) for t in result):
        return list(result)
    return None


def _empty_outs(lib, tensors, dtype=None, shaped=False):
    """out= for lib: one tensor, or a tuple of them, like torch's result tensors."""
    outs = [
        lib.empty(
            tuple(t.shape) if shaped else 0,
            dtype=getattr(lib, dtype or str(t.dtype).split(".")[-1]),
        )
        for t in tensors
    ]
    return outs[0] if len(outs) == 1 else tuple(outs)


def _out_sample(entry, dtype):
    """The first contiguous sample with tensor results that torch takes out= for
    (sum and prod take it only with a dim): (sample, its result tensors)."""
    call = first_form(entry)
    for sample in entry.samples():
        result, err = outcome(call, torch, sample, dtype)
        tensors = _tensors(result) if err is None else None
        if tensors and sample.layout == "contiguous":
            out = _empty_outs(torch, tensors)
            if outcome(call, torch, sample, dtype, out=out)[1] is None:
                return sample, tensors
    raise AssertionError("an entry with out= needs a sample with tensor results")


@pytest.mark.parametrize("entry,_", OUT_CASES)
def test_out_receives_the_result(entry, _):
    dtype = _reference_dtype(entry)
    call = first_form(entry)
    sample, expected = _out_sample(entry, dtype)
    results = []
    for lib in (ember, torch):
        out = _empty_outs(lib, expected)
        returned, err = outcome(call, lib, sample, dtype, out=out)
        assert err is None, f"{lib.__name__}: {err!r}"
        if isinstance(out, tuple):
            assert all(r is o for r, o in zip(returned, out)), f"{lib.__name__}: not the outs"
        else:
            assert returned is out, f"{lib.__name__} did not return the out tensor"
        results.append(out)
    assert_matches(results[0], results[1], tolerance(entry, dtype), "out")


@pytest.mark.parametrize("entry,_", OUT_DTYPE_CASES)
def test_out_dtype_rules_match_torch(entry, _):
    dtype = _reference_dtype(entry)
    call = first_form(entry)
    sample, expected = _out_sample(entry, dtype)
    for out_dtype in ("float64", "int64", "bool"):

        def into(lib, args, kwargs):
            out = _empty_outs(lib, expected, out_dtype, shaped=True)
            call(lib, args, {**kwargs, "out": out})
            return out

        assert_same_outcome(into, sample, dtype, tolerance(entry, dtype), f"out {out_dtype}")


@pytest.mark.parametrize("entry,_", ERROR_CASES)
def test_errors_match_torch(entry, _):
    call = first_form(entry)
    refused = [d for d in ALL if d not in entry.dtypes]
    if refused:
        dtype = refused[-1]
        failing = [(s, outcome(call, torch, s, dtype)[1]) for s in entry.samples()]
        failing = [(s, err) for s, err in failing if err is not None]
        assert failing, f"torch accepts {dtype} for every sample: add it to the entry's dtypes"
        sample, t_err = failing[0]
        _, e_err = outcome(call, ember, sample, dtype)
        assert type(e_err) is type(t_err), f"{dtype}: ember {e_err!r}, torch {t_err!r}"
    for sample in entry.errors() if entry.errors else []:
        dtype = _reference_dtype(entry)
        _, t_err = outcome(call, torch, sample, dtype)
        assert t_err is not None, f"{sample!r}: torch accepts this error sample"
        _, e_err = outcome(call, ember, sample, dtype)
        assert type(e_err) is type(t_err), f"{sample!r}: ember {e_err!r}, torch {t_err!r}"


# ---------------------------------------------------------------- the table is complete


def _coverage():
    spec = importlib.util.spec_from_file_location(
        "gen_api_coverage", ROOT / "scripts" / "gen_api_coverage.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {title: (names, target) for title, names, target in module.namespaces()}


def _ember_ops():
    """Qualified names (torch.add, torch.Tensor.add_) of the torch ops Ember has."""
    found = set()
    for title, (names, target) in _coverage().items():
        if title in OP_NAMESPACES:
            found |= {f"{title}.{n}" for n in names if hasattr(target, n)}
    return found


def test_every_public_op_is_in_the_table_or_excluded_with_a_reason():
    in_table = {name for entry in OPS for name in entry.public_names()}
    ops = _ember_ops()
    missing = sorted(ops - in_table - set(EXCLUDED))
    assert not missing, f"add these to tests/op_table.py or op_table_exclusions.py: {missing}"
    assert not set(EXCLUDED) & in_table, "an excluded name is also in the table"
    assert not set(EXCLUDED) - ops, "an excluded name is not an Ember op any more"
    assert all(isinstance(r, str) and len(r) > 10 for r in EXCLUDED.values())


def test_the_table_names_real_torch_ops():
    for entry in OPS:
        for name in entry.public_names():
            path = name.removeprefix("torch.").removeprefix("Tensor.")
            owner = torch.Tensor if name.startswith("torch.Tensor.") else torch
            assert _has_path(owner, path), f"{entry.name}: torch has no {name}"
        assert set(entry.dtypes) <= set(ALL)
        assert not (entry.grad and not set(entry.dtypes) & set(FLOATS)), entry.name


def _has_path(owner, path):
    for part in path.split("."):
        if not hasattr(owner, part):
            return False
        owner = getattr(owner, part)
    return True


def test_ops_ember_lacks_raise_attribute_error_naming_them():
    coverage = _coverage()
    for title in OP_NAMESPACES:
        names, target = coverage[title]
        missing = [n for n in names if not hasattr(target, n)]
        assert missing, title
        for name in missing:
            with pytest.raises(AttributeError, match=name):
                getattr(target, name)
