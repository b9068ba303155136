"""Runs a script with every `torch` import resolving to ember:

    python run_with_ember.py script.py [args...]

`import torch`, `import torch.nn as nn`, `from torch.optim import Adam` and the
rest load the ember module of the same name, as if the user had installed
Ember under torch's name.
"""

import importlib
import importlib.abc
import importlib.util
import runpy
import sys


class TorchToEmber(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name == "torch" or name.startswith("torch."):
            return importlib.util.spec_from_loader(name, self)
        return None

    def create_module(self, spec):
        module = importlib.import_module("ember" + spec.name[len("torch") :])
        sys.modules[spec.name] = module
        return module

    def exec_module(self, module):
        pass


if __name__ == "__main__":
    sys.meta_path.insert(0, TorchToEmber())
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    runpy.run_path(script, run_name="__main__")
