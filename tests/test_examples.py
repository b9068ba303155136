"""The training examples print the same losses on Ember as on torch (the same
file run with `ember` resolving to PyTorch, tests/run_with_torch.py)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
AS_TORCH = Path(__file__).resolve().parent / "run_with_torch.py"
NUMBER = re.compile(r"-?\d+\.\d+")


def run(example, on_torch=False):
    runner = [str(AS_TORCH)] if on_torch else []
    done = subprocess.run(
        [sys.executable, *runner, str(EXAMPLES / example)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=EXAMPLES,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


@pytest.mark.parametrize("example", ["digits_cnn.py", "lstm_sequence.py", "char_transformer.py"])
def test_example_prints_torchs_numbers(example):
    ours, theirs = run(example), run(example, on_torch=True)
    assert len(ours) == len(theirs) >= 4
    for mine, reference in zip(ours, theirs):
        assert NUMBER.sub("#", mine) == NUMBER.sub("#", reference), (mine, reference)
        got = [float(v) for v in NUMBER.findall(mine)]
        want = [float(v) for v in NUMBER.findall(reference)]
        assert got == pytest.approx(want, rel=1e-5, abs=1e-5), (mine, reference)


def test_progress_goes_to_stderr_and_plot_is_optional(tmp_path):
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "lstm_sequence.py"), "--plot", str(tmp_path / "l.png")],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=EXAMPLES,
    )
    assert done.returncode == 0, done.stderr
    assert "150/150" in done.stderr  # the bar's last state
    assert "[" not in done.stdout
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "matplotlib is not installed" in done.stderr
    else:
        assert (tmp_path / "l.png").stat().st_size > 0
