"""Training steps of real models, torch against Ember, each in its own process.

    python benchmarks/model_steps.py [--rounds 3] [--only SUBSTR] [--threads 1 default]

For every model of models.py and thread setting, each round starts one fresh
process per library (alternating which goes first), which builds the model,
warms up, and times steps for about a second. A library left at "default"
threads gets no set_num_threads call, as a new user runs it. The reported time
is the median over rounds of each process's median step time; the memory
column is the peak RSS (VmHWM, reset before timing) above the RSS before the
timed steps, max over rounds.
Prints a markdown table (ratio = torch / ember, higher is better for Ember).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

CHILD = r"""
import gc, json, os, statistics, sys, time
sys.path.insert(0, {here!r})
import numpy
lib = __import__({lib!r})
if {threads!r} != "default":
    lib.set_num_threads(int({threads!r}))
import models
step = models.MODELS[{model!r}](lib)

def rss_kb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024

for _ in range(3):
    step()
gc.collect()
base = rss_kb()
with open("/proc/self/clear_refs", "w") as f:  # resets VmHWM, the peak RSS
    f.write("5")
times = []
deadline = time.perf_counter() + {seconds!r}
while time.perf_counter() < deadline or len(times) < 5:
    t0 = time.perf_counter()
    step()
    times.append(time.perf_counter() - t0)
with open("/proc/self/status") as f:
    peak = int(next(l for l in f if l.startswith("VmHWM")).split()[1])
print(json.dumps({{"time": statistics.median(times), "growth_kb": max(peak - base, 0),
                  "threads": lib.get_num_threads()}}))
"""


def run_child(lib, model, threads, seconds):
    code = CHILD.format(here=HERE, lib=lib, model=model, threads=threads, seconds=seconds)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=HERE
    )
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": last[:120]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def fmt(s):
    return f"{s * 1e3:.2f} ms" if s >= 1e-3 else f"{s * 1e6:.0f} us"


def main():
    sys.path.insert(0, HERE)
    import models

    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--only", default="")
    ap.add_argument("--threads", nargs="+", default=["1", "default"])
    args = ap.parse_args()

    print("| model step | threads | torch | ember | torch/ember | peak RSS growth torch / ember |")
    print("|---|---|---:|---:|---:|---|")
    for model in models.MODELS:
        if args.only not in model:
            continue
        for threads in args.threads:
            results = {"torch": [], "ember": []}
            order = ["torch", "ember"]
            for _ in range(args.rounds):
                for lib in order:
                    results[lib].append(run_child(lib, model, threads, args.seconds))
                order.reverse()
            errors = {k: r[0]["error"] for k, r in results.items() if "error" in r[0]}
            if errors:
                msg = "; ".join(f"{k}: {v}" for k, v in errors.items())
                print(f"| {model} | {threads} | pending: {msg} | | | |", flush=True)
                continue
            med = {k: statistics.median(r["time"] for r in v) for k, v in results.items()}
            mem = {k: max(r["growth_kb"] for r in v) / 1024 for k, v in results.items()}
            nthr = results["ember"][0]["threads"]
            ratio = med["torch"] / med["ember"]
            print(
                f"| {model} | {threads} ({nthr}) | {fmt(med['torch'])} | {fmt(med['ember'])} | "
                f"{ratio:.2f}x | {mem['torch']:.1f} / {mem['ember']:.1f} MB |",
                flush=True,
            )


if __name__ == "__main__":
    main()
