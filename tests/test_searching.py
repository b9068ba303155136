"""searchsorted, bucketize and isin against torch: positions, dtypes, sides,
sorters, NaN and the shapes torch refuses."""

from __future__ import annotations

import pytest
from conftest import compare

S = [[1, 3, 5, 7, 9], [2, 4, 6, 8, 10]]
CASES = {
    "rows": lambda L: L.searchsorted(L.tensor(S), L.tensor([[3, 6, 9], [3, 6, 9]])),
    "rows_right": lambda L: L.searchsorted(
        L.tensor(S), L.tensor([[3, 6, 9], [3, 6, 9]]), right=True
    ),
    "side_right": lambda L: L.searchsorted(L.tensor(S[0]), L.tensor([3, 4]), side="right"),
    "one_d_many": lambda L: L.searchsorted(L.tensor(S[0]), L.tensor([[0, 10], [5, 6]])),
    "scalar_value": lambda L: L.searchsorted(L.tensor(S[0]), 4),
    "zero_d_value": lambda L: L.searchsorted(L.tensor(S[0]), L.tensor(4)),
    "int32": lambda L: L.searchsorted(L.tensor(S[0]), L.tensor([4]), out_int32=True),
    "floats_nan": lambda L: L.searchsorted(
        L.tensor([1.0, 2.0, float("nan")]), L.tensor([float("nan"), 3.0, 1.5])
    ),
    "sorter": lambda L: L.searchsorted(
        L.tensor([3, 1, 2]), L.tensor([2]), sorter=L.tensor([1, 2, 0])
    ),
    "mismatched_rows": lambda L: L.searchsorted(L.tensor(S), L.tensor([1, 2])),
    "bad_side": lambda L: L.searchsorted(L.tensor(S[0]), L.tensor([1]), side="middle"),
    "opposite_sides": lambda L: L.searchsorted(
        L.tensor(S[0]), L.tensor([1]), right=True, side="left"
    ),
    "bucketize": lambda L: L.bucketize(L.tensor([[1, 5], [9, 10]]), L.tensor([1, 3, 5, 7, 9])),
    "bucketize_right": lambda L: L.bucketize(
        L.tensor([1.0, 5.5, 9.0]), L.tensor([1.0, 5.5]), right=True
    ),
    "bucketize_nan": lambda L: L.bucketize(L.tensor([float("nan"), 0.5]), L.tensor([0.0, 1.0])),
    "nan_in_the_middle": lambda L: L.searchsorted(
        L.tensor([1.0, float("nan"), 3.0, 4.0]), L.tensor([2.0, 3.5, 0.0]), right=True
    ),
    "empty_boundaries": lambda L: L.searchsorted(L.tensor([]), L.tensor([1.0])),
    "bucketize_2d_boundaries": lambda L: L.bucketize(L.tensor([1]), L.tensor([[1, 2]])),
    "isin": lambda L: L.isin(L.tensor([[1, 2], [3, 4]]), L.tensor([2, 3])),
    "isin_invert": lambda L: L.isin(L.tensor([1.0, 2.0]), 2.0, invert=True),
    "isin_number_first": lambda L: L.isin(3, L.tensor([1, 3])),
    "isin_floats": lambda L: L.isin(
        L.tensor([0.5, float("nan"), 2.0]), L.tensor([float("nan"), 2.0])
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_searching_matches_torch(name):
    compare(CASES[name])
