"""ember.utils.data against torch.utils.data: the same batches, in the same
order, with the global generator left in the same state."""

from __future__ import annotations

import ember
import numpy as np
import pytest
import torch

X = np.arange(30, dtype=np.float32).reshape(10, 3)
Y = np.arange(10) % 3


def _epochs(lib, epochs=2, **loader_kw):
    lib.manual_seed(7)
    data = lib.utils.data.TensorDataset(lib.tensor(X), lib.tensor(Y))
    loader = lib.utils.data.DataLoader(data, **loader_kw)
    seen = []
    for _ in range(epochs):
        seen.append([(xb.numpy().tolist(), yb.numpy().tolist()) for xb, yb in loader])
    after = lib.randn(3).numpy().tolist()  # the global stream after the loader drew from it
    return seen, after, len(loader)


@pytest.mark.parametrize(
    "kw",
    [
        {"batch_size": 4},
        {"batch_size": 4, "shuffle": True},
        {"batch_size": 3, "shuffle": True, "drop_last": True},
        {"batch_size": 1, "shuffle": False},
        {"batch_size": 10, "shuffle": True},
    ],
    ids=str,
)
def test_loader_batches_and_rng_match_torch(kw):
    assert _epochs(ember, **kw) == _epochs(torch, **kw)


def test_loader_with_its_own_generator_matches_torch():
    def run(lib):
        g = lib.Generator()
        g.manual_seed(3)
        data = lib.utils.data.TensorDataset(lib.tensor(X))
        loader = lib.utils.data.DataLoader(data, batch_size=4, shuffle=True, generator=g)
        return [b[0].numpy().tolist() for _ in range(2) for b in loader]

    assert run(ember) == run(torch)


def test_default_collate_of_dicts_tuples_numbers_and_arrays():
    class Samples:
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"x": np.full(2, i, dtype=np.float32), "label": i, "w": i / 2, "name": f"s{i}"}

    def run(lib):
        batches = list(lib.utils.data.DataLoader(Samples(), batch_size=2))
        return [
            (
                b["x"].numpy().tolist(),
                b["label"].tolist(),
                str(b["label"].dtype).split(".")[-1],
                b["w"].tolist(),
                str(b["w"].dtype).split(".")[-1],
                b["name"],
            )
            for b in batches
        ]

    assert run(ember) == run(torch)


def test_random_split_and_subsets_match_torch():
    def run(lib):
        lib.manual_seed(11)
        parts = lib.utils.data.random_split(range(10), [0.5, 0.3, 0.2])
        fixed = lib.utils.data.random_split(list(range(7)), [3, 4])
        return [list(p) for p in parts] + [list(p) for p in fixed]

    assert run(ember) == run(torch)


def test_samplers_and_concat_match_torch():
    def run(lib):
        lib.manual_seed(5)
        data = lib.utils.data
        both = data.ConcatDataset([list(range(3)), list(range(10, 14))])
        replacement = list(data.RandomSampler(range(6), replacement=True, num_samples=40))
        batches = list(data.BatchSampler(data.SequentialSampler(range(7)), 3, drop_last=False))
        subset = list(data.SubsetRandomSampler([5, 6, 7, 8]))
        return [both[k] for k in range(len(both))], both[-1], replacement, batches, subset

    assert run(ember) == run(torch)


def test_loader_misuse_raises_like_torch():
    for lib in (ember, torch):
        data = lib.utils.data.TensorDataset(lib.ones(4, 2))
        with pytest.raises(ValueError):
            lib.utils.data.DataLoader(data, batch_size=0)
        with pytest.raises(ValueError):
            lib.utils.data.DataLoader(data, sampler=[0, 1], shuffle=True)
        with pytest.raises(AssertionError):
            lib.utils.data.TensorDataset(lib.ones(4), lib.ones(3))


def test_iterable_dataset_batches():
    def run(lib):
        class Stream(lib.utils.data.IterableDataset):
            def __iter__(self):
                return iter(range(7))

        return [b.tolist() for b in lib.utils.data.DataLoader(Stream(), batch_size=3)]

    assert run(ember) == run(torch)
