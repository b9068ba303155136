"""Type information: py.typed and the generated stubs ship, are up to date with
the built module, cover every public name, and let mypy check user code."""

from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import ember
import pytest

ROOT = Path(__file__).resolve().parent.parent
STUBS = ROOT / "python" / "ember"


def _generator():
    spec = importlib.util.spec_from_file_location("gen_stubs", ROOT / "scripts" / "gen_stubs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_checked_in_stubs_are_what_the_generator_writes():
    for path, text in _generator().outputs().items():
        assert path.read_text() == text, (
            f"{path.name} is stale: run `python scripts/gen_stubs.py` and commit the result"
        )


def _defined_names(tree):
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign):
            names.add(node.target.id)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets)
        elif isinstance(node, ast.ImportFrom):
            names.update(a.asname or a.name for a in node.names)
    return names


def test_the_stubs_cover_every_public_name_and_tensor_method():
    package = _defined_names(ast.parse((STUBS / "__init__.pyi").read_text()))
    assert not {n for n in ember.__all__} - package
    c_tree = ast.parse((STUBS / "_C.pyi").read_text())
    assert not {n for n in dir(ember._C) if not n.startswith("__")} - _defined_names(c_tree)
    (tensor,) = [n for n in c_tree.body if isinstance(n, ast.ClassDef) and n.name == "Tensor"]
    methods = {
        n.name if isinstance(n, ast.FunctionDef) else n.target.id
        for n in tensor.body
        if isinstance(n, (ast.FunctionDef, ast.AnnAssign))
    }
    assert not {n for n in dir(ember.Tensor) if not n.startswith("_")} - methods


def test_py_typed_and_the_stubs_are_in_the_package_that_is_imported():
    installed = Path(ember.__file__).parent
    for name in ("py.typed", "_C.pyi", "__init__.pyi"):
        assert (installed / name).is_file(), name


def _mypy(*paths, cwd=ROOT):
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed")
    env = dict(os.environ, MYPYPATH=str(ROOT / "python"))
    return subprocess.run(
        # Ember's own modules are followed for their types, their errors not reported:
        # a user sees the package so, installed (an editable install hides it from mypy,
        # hence MYPYPATH)
        [
            sys.executable,
            "-m",
            "mypy",
            "--no-incremental",
            "--cache-dir",
            os.devnull,
            "--follow-imports",
            "silent",
            *paths,
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_mypy_passes_over_the_examples_and_typed_user_code():
    proc = _mypy("examples", "tests/typing/user_code.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_sees_real_types_not_any(tmp_path):
    sample = tmp_path / "wrong.py"
    sample.write_text(
        "import ember\n"
        "n: int = ember.ones(2)\n"
        "ember.ones(2).no_such_method()\n"
        "s: str = ember.ones(2).sum().item\n"
    )
    proc = _mypy(str(sample))
    assert proc.returncode == 1
    assert 'expression has type "Tensor", variable has type "int"' in proc.stdout
    assert '"Tensor" has no attribute "no_such_method"' in proc.stdout
