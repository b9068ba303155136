"""ember.testing.assert_close against torch.testing.assert_close: the same verdicts and
the same failure messages."""

from __future__ import annotations

import pytest
from conftest import both

CASES = {
    "close_enough": lambda L: (L.tensor([1.0, 2.0]), L.tensor([1.0, 2.0 + 1e-7]), {}),
    "not_close": lambda L: (L.tensor([1.0, 2.0, 3.0]), L.tensor([1.0, 2.5, 3.0]), {}),
    "float64": lambda L: (
        L.tensor([1.0, 2.0], dtype=L.float64),
        L.tensor([1.0, 2.001], dtype=L.float64),
        {},
    ),
    "half": lambda L: (
        L.tensor([1.0, 2.0], dtype=L.float16),
        L.tensor([1.0, 2.004], dtype=L.float16),
        {},
    ),
    "dtype_differs": lambda L: (L.ones(3), L.ones(3, dtype=L.float64), {}),
    "dtype_ignored": lambda L: (L.ones(3), L.ones(3, dtype=L.float64), {"check_dtype": False}),
    "shape_differs": lambda L: (L.ones(3), L.ones(2), {}),
    "integers": lambda L: (L.tensor([1, 2, 5]), L.tensor([1, 3, 5]), {}),
    "bools": lambda L: (L.tensor([True, False]), L.tensor([True, True]), {}),
    "message": lambda L: (L.ones(2), L.zeros(2), {"msg": "custom"}),
    "message_callable": lambda L: (L.ones(2), L.zeros(2), {"msg": lambda m: "wrapped: " + m}),
    "numbers": lambda L: (1.0, 1.5, {}),
    "ints": lambda L: (2, 3, {}),
    "zero_d": lambda L: (L.tensor(1.0), L.tensor(1.5), {}),
    "nan": lambda L: (L.tensor([float("nan")]), L.tensor([float("nan")]), {}),
    "nan_equal": lambda L: (
        L.tensor([float("nan")]),
        L.tensor([float("nan")]),
        {"equal_nan": True},
    ),
    "infinities": lambda L: (L.tensor([float("inf")]), L.tensor([float("inf")]), {}),
    "sequence": lambda L: ([L.ones(2), L.ones(2)], [L.ones(2), L.zeros(2)], {}),
    "sequence_length": lambda L: ([L.ones(2)], [L.ones(2), L.ones(2)], {}),
    "mapping_keys": lambda L: ({"a": 1}, {"a": 1, "b": 2}, {}),
    "mapping_other_keys": lambda L: ({"a": 1}, {"b": 1}, {}),
    "mapping": lambda L: ({"a": L.ones(2)}, {"a": L.zeros(2)}, {}),
    "nested": lambda L: ({"a": [1.0, L.ones(2)]}, {"a": [1.0, L.zeros(2)]}, {}),
    "tensor_and_list": lambda L: (L.ones(2), [1.0, 1.0], {}),
    "custom_tolerance": lambda L: (
        L.tensor([1.0, 2.0]),
        L.tensor([1.0, 2.5]),
        {"rtol": 0.3, "atol": 0},
    ),
    "half_a_tolerance": lambda L: (L.ones(2), L.ones(2), {"rtol": 0.3}),
    "matrix_index": lambda L: (L.zeros(2, 3), L.tensor([[0.0, 0.0, 0.0], [0.0, 1.0, 2.0]]), {}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_assert_close_matches_torch(name):
    def run(L):
        actual, expected, kwargs = CASES[name](L)
        try:
            L.testing.assert_close(actual, expected, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the exception is the result
            return type(exc).__name__, str(exc).replace("torch.", "ember.")
        return None

    e, t = both(run)
    assert e == t
