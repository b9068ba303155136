"""examples/tiny_gan.py prints the same model and losses under ember as under torch."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "tiny_gan.py"
LOSSES = re.compile(r"step (\d+): discriminator (\S+)  generator (\S+)")


def run(source, path):
    path.write_text(source)
    proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_tiny_gan_trains_like_torch(tmp_path):
    source = EXAMPLE.read_text()
    assert "import ember as torch" in source
    got = run(source, tmp_path / "gan_ember.py")
    want = run(source.replace("import ember as torch", "import torch"), tmp_path / "gan_torch.py")
    # The printed model is the same text; the losses agree to float32 rounding.
    model_e, model_t = got.split("step 0")[0], want.split("step 0")[0]
    assert model_e == model_t
    steps_e, steps_t = LOSSES.findall(got), LOSSES.findall(want)
    assert len(steps_e) == len(steps_t) == 6
    for (se, de, ge), (st, dt, gt) in zip(steps_e, steps_t):
        assert se == st
        assert abs(float(de) - float(dt)) <= 2e-4
        assert abs(float(ge) - float(gt)) <= 2e-4
