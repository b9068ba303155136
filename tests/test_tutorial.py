"""The autograd tutorial (examples/tutorial.py) prints the same under ember as under torch."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

TUTORIAL = Path(__file__).resolve().parent.parent / "examples" / "tutorial.py"


def run(source: str, tmp_path: Path, name: str):
    script = tmp_path / name
    script.write_text(source)
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, proc.stderr


def normalize(text: str) -> str:
    text = re.sub(r"0x[0-9a-f]+", "ADDR", text)
    text = text.replace("torch.", "ember.")
    # The version line differs by design.
    return re.sub(r"PyTroch vesrion: .*", "PyTroch vesrion: X", text)


def warnings_of(stderr: str):
    # "path:line: UserWarning: message" -> (line, category, first sentence)
    found = re.findall(r":(\d+): (\w+Warning): ([^.]*\.)", stderr)
    return found


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tutorial")
    source = TUTORIAL.read_text()
    assert "import ember as torch" in source
    ember_out = run(source, tmp, "tutorial_ember.py")
    torch_out = run(
        source.replace("import ember as torch", "import torch"), tmp, "tutorial_torch.py"
    )
    return ember_out, torch_out


NUMBER = re.compile(r"-?\d+\.\d*(?:e[-+]?\d+)?")


def same_up_to_last_digit(e: str, t: str) -> bool:
    """The same printed number, or as close as its printing allows.

    torch's own float32 reductions round differently by CPU (its SIMD width and
    FMA use pick the order of additions), so after several training epochs a
    value may be a float32 ulp away from any fixed order of additions: that is
    one unit in the last digit of a rounded print, or a different shortest
    repr (numpy prints 0.5838845 for one float and 0.58388454 for the next).
    """
    if e == t:
        return True

    def last_digit(s):
        mantissa, _, exponent = s.partition("e")
        return 10.0 ** -len(mantissa.split(".")[1]) * 10.0 ** int(exponent or 0)

    tolerance = max(min(last_digit(e), last_digit(t)), 2 * 2.0**-23 * abs(float(t)))
    return abs(float(e) - float(t)) <= 1.000001 * tolerance


def test_stdout_matches_torch_line_for_line(outputs):
    (ember_stdout, _), (torch_stdout, _) = outputs
    ember_lines = normalize(ember_stdout).splitlines()
    torch_lines = normalize(torch_stdout).splitlines()
    assert len(ember_lines) == len(torch_lines)
    for e, t in zip(ember_lines, torch_lines):
        # numpy pads array columns to the widest number: spacing follows the digits
        assert re.sub(r"\s+", "", NUMBER.sub("#", e)) == re.sub(r"\s+", "", NUMBER.sub("#", t))
        for en, tn in zip(NUMBER.findall(e), NUMBER.findall(t)):
            assert same_up_to_last_digit(en, tn), (e, t)


def test_warnings_match_torch(outputs):
    (_, ember_err), (_, torch_err) = outputs
    ember_warnings = warnings_of(ember_err)
    assert len(ember_warnings) == 2  # z.grad and y.grad of non-leaves
    assert ember_warnings == warnings_of(torch_err)


def test_prints_the_published_numbers(outputs):
    (ember_stdout, _), _ = outputs
    assert "[ 0.3367,  0.1288,  0.2345]" in ember_stdout
    assert "tensor([0.9580, 1.3221, 0.8172])" in ember_stdout
    assert "Epoch  1: loss = 1.0321, w = [ 0.49692243 -0.25321358  1.1287315 ]" in ember_stdout
    assert "w.grad = 28.0" in ember_stdout
    assert "y = [x_1^2, 2x_2, x_3] = tensor([1., 4., 3.], grad_fn=<CatBackward0>)" in ember_stdout
    assert "Result x.grad = tensor([2., 2., 1.])" in ember_stdout
