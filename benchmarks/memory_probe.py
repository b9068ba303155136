"""Memory probes, run by run.py in a fresh subprocess per library.

    python benchmarks/memory_probe.py --lib {torch,ember} --probe {chain,mlp}
                                      [--threads N] [--nodes N]

Prints one JSON object on stdout.  Only the library under test is imported
(plus NumPy), so each process's RSS is that library's.

* ``chain``: RSS growth (current resident set, from /proc/self/statm) while
  holding a scalar chain of 200k graph nodes, divided by the node count.  A
  small chain is built and freed first so one-time allocations do not count.
* ``mlp``: peak RSS (VmHWM of /proc/self/status) of a process that runs 20 training
  steps of the 784-256-10 MLP with batch 64; also reports the RSS before the
  steps (after imports and setup) so the growth can be told apart from the
  import cost.  Initial weights are drawn by NumPy with torch's default
  ``nn.Linear`` distribution (so the Ember process never imports torch).
"""

import argparse
import gc
import importlib
import json
import os
import resource
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import workloads as W  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")


def current_rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def peak_rss():
    # VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over from the
    # parent across fork/exec, so a child of a big run.py would report the
    # parent's peak.  VmHWM belongs to this process's own address space.
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def probe_chain(lib, nodes):
    x, y = W.build_chain(lib, 2000)  # warm-up: first-use allocations
    y.backward()
    del x, y
    gc.collect()
    before = current_rss()
    x, y = W.build_chain(lib, nodes)
    gc.collect()
    after = current_rss()
    value = (after - before) / nodes
    y.backward()  # keep the chain alive until measured; check it is usable
    return {
        "value": value,
        "rss_before": before,
        "rss_after": after,
        "nodes": nodes,
        "grad": float(x.grad.item()),
    }


def probe_mlp(lib):
    rng = np.random.default_rng(0)
    d = W.data_mlp(rng, init_from_torch=False)
    step = W.setup_mlp(lib, d)
    gc.collect()
    before = current_rss()
    loss = None
    for _ in range(20):
        loss = step()
    return {
        "value": peak_rss() / 2**20,
        "rss_before_steps_mb": before / 2**20,
        "rss_end_mb": current_rss() / 2**20,
        "loss": loss,
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lib", choices=["torch", "ember"], required=True)
    p.add_argument("--probe", choices=["chain", "mlp"], required=True)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--nodes", type=int, default=W.MEM_CHAIN, help="chain length for --probe chain")
    args = p.parse_args()
    lib = importlib.import_module(args.lib)
    if args.threads:
        lib.set_num_threads(args.threads)
    out = {"lib": args.lib, "probe": args.probe}
    try:
        out.update(probe_chain(lib, args.nodes) if args.probe == "chain" else probe_mlp(lib))
    except Exception as e:  # reported as ERROR by run.py
        msg = str(e).strip().splitlines()
        out["error"] = "{}: {}".format(type(e).__name__, msg[0] if msg else "")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
