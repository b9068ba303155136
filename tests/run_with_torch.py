"""Runs a script with `import ember` resolving to PyTorch:

    python run_with_torch.py script.py [args...]

The examples import Ember under torch's name (`import ember as torch`); run
this way they train on PyTorch, so their output can be compared.
"""

import importlib
import runpy
import sys

if __name__ == "__main__":
    sys.modules["ember"] = importlib.import_module("torch")
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    sys.path.insert(0, str(__import__("pathlib").Path(script).resolve().parent))
    runpy.run_path(script, run_name="__main__")
