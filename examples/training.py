"""What the training examples share: their arguments, a progress bar and a loss plot.

The examples are written for torch's API and import Ember under torch's name;
tests/test_examples.py also runs each with `ember` resolving to PyTorch and
checks that both print the same numbers.
"""

import argparse
import importlib
import sys


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--plot", metavar="PNG", help="save the loss curve (needs matplotlib)")
    return parser.parse_args()


def progress(done, total, loss):
    """A one-line progress bar on stderr (stdout keeps only the losses)."""
    width = 30
    filled = width * done // total
    bar = "#" * filled + "." * (width - filled)
    end = "\n" if done == total else ""
    print(f"\r[{bar}] {done}/{total} loss {loss:.4f}", end=end, file=sys.stderr, flush=True)


def save_plot(losses, path, title):
    """The loss curve as a PNG, when matplotlib is installed."""
    if path is None:
        return
    try:  # an optional dependency, looked up when asked for
        matplotlib = importlib.import_module("matplotlib")
        matplotlib.use("Agg")
        plt = importlib.import_module("matplotlib.pyplot")
    except ImportError:
        print("matplotlib is not installed; no plot saved", file=sys.stderr)
        return
    plt.figure(figsize=(5, 3))
    plt.plot(losses)
    plt.xlabel("step")
    plt.ylabel("loss")
    plt.title(title)
    plt.tight_layout()
    plt.savefig(path)
    print(f"loss curve saved to {path}", file=sys.stderr)
