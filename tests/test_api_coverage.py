"""docs/api-coverage.md, the list of torch names Ember lacks, is current, and a
name Ember lacks raises AttributeError naming it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import ember
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _generator():
    spec = importlib.util.spec_from_file_location(
        "gen_api_coverage", ROOT / "scripts" / "gen_api_coverage.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_coverage_document_is_current():
    expected = _generator().render()
    assert (ROOT / "docs" / "api-coverage.md").read_text() == expected, (
        "docs/api-coverage.md is stale: run python scripts/gen_api_coverage.py"
    )


def test_every_listed_name_is_missing_and_refused_by_name():
    for title, names, target in _generator().namespaces():
        missing = [n for n in names if not hasattr(target, n)]
        for name in missing[:25]:
            with pytest.raises(AttributeError, match=name):
                getattr(target, name)
        assert title.startswith("torch")


def test_the_coverage_counts_what_ember_has():
    table = {title: (names, target) for title, names, target in _generator().namespaces()}
    names, target = table["torch.optim.lr_scheduler"]
    assert all(hasattr(target, n) for n in names)
    names, target = table["torch"]
    assert "lgamma" in names and hasattr(ember, "lgamma")
