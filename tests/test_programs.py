"""Whole training programs, as users write them for torch, run unchanged with
`torch` resolving to ember (tests/programs/run_with_ember.py) and print what
they print under torch: the same lines, and numbers equal to a tolerance.

The programs cover what real scripts lean on: DataLoaders, argparse,
accelerator checks, LSTM cells with L-BFGS, tied weights, whole-model saving,
nn.Transformer, dropout, schedulers, a variational autoencoder and layer-local
training. Tolerances are float32 rounding carried through training; where a
program is chaotic in its last bits (high learning rates), they are wider.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

PROGRAMS = Path(__file__).resolve().parent / "programs"
NUMBER = re.compile(r"[-+]?\d+\.\d+(?:e[-+]?\d+)?|[-+]?\d+")

# program -> relative tolerance on every printed number
TOLERANCE = {
    "variational_autoencoder": 1e-5,
    "polynomial_fit": 1e-5,
    "sine_lbfgs": 1e-8,  # float64
    "word_language_model": 3e-4,  # the Transformer: attention rounding through SGD
    "digits_cnn": 1e-4,
    "forward_forward": 1e-5,
}


def run(*command):
    proc = subprocess.run(
        [sys.executable, *command], capture_output=True, text=True, timeout=600, cwd=PROGRAMS
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def words_and_numbers(output):
    """Each line as its text with numbers blanked, and the numbers."""
    lines = output.strip().splitlines()
    return [NUMBER.sub("#", line) for line in lines], [
        float(n) for line in lines for n in NUMBER.findall(line)
    ]


@pytest.mark.parametrize("name", sorted(TOLERANCE))
def test_program_prints_what_it_prints_under_torch(name):
    script = f"{name}.py"
    torch_text, torch_numbers = words_and_numbers(run(script))
    ember_text, ember_numbers = words_and_numbers(run("run_with_ember.py", script))
    assert ember_text == torch_text
    assert ember_numbers == pytest.approx(torch_numbers, rel=TOLERANCE[name], abs=1e-9)


def test_every_program_is_checked():
    scripts = {p.stem for p in PROGRAMS.glob("*.py")} - {"run_with_ember"}
    assert scripts == set(TOLERANCE)
