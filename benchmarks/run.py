"""Ember vs torch benchmark suite.

    python benchmarks/run.py [--threads N [N ...]] [--quick] [--only SUBSTR]

Runs every workload of workloads.py on Ember and on torch, each library in a
process of its own (lib_worker.py), alternating the two repeat by repeat after
a warm-up, and reports the median per-iteration time of several repeats (each
repeat times an inner loop long enough to take >= ~20 ms).  Memory is measured by memory_probe.py in
a fresh subprocess per library.  Prints a table and writes
benchmarks/RESULTS.md (and benchmarks/ratios.png when matplotlib is
importable).
"""

import argparse
import datetime
import importlib.util
import json
import os
import pickle
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import ember  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import workloads as W  # noqa: E402

LIBS = {"torch": torch, "ember": ember}
# Pause before each timed repeat: the worker threads the other library left
# spinning (OpenMP's wait policy) go to sleep before this one is timed.
SETTLE = 0.02


# --------------------------------------------------------------------------
# timing, one process per library


class LibraryProcess:
    """A lib_worker.py process: one library at one thread count."""

    def __init__(self, lib_name, threads):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "lib_worker.py"), lib_name, str(threads)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=HERE,
        )

    def ask(self, *request):
        pickle.dump(request, self.proc.stdin)
        self.proc.stdin.flush()
        try:
            return pickle.load(self.proc.stdout)
        except EOFError:
            raise RuntimeError("the benchmark worker died") from None

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def _compare(vt, ve):
    try:
        a, b = np.asarray(vt), np.asarray(ve)
        if a.shape != b.shape:
            return f"shape mismatch {a.shape} vs {b.shape}"
        if not np.allclose(a, b, rtol=1e-3, atol=1e-3 * max(1.0, float(np.abs(a).max(initial=0)))):
            return f"value mismatch (max abs diff {float(np.abs(a - b).max()):.3g})"
    except Exception as e:
        return f"compare failed: {e}"
    return None


def run_workload(name, workers, repeats, budget, warmups=2):
    """Returns dict with per-lib median seconds or error messages."""
    res = {"torch": None, "ember": None, "err": {}, "note": None, "n": {}}
    est, first = {}, {}
    for lname, worker in workers.items():
        reply = worker.ask("setup", name, warmups)
        if reply["err"]:
            res["err"][lname] = reply["err"]
            continue
        res["n"][lname], est[lname], first[lname] = reply["n"], reply["per"], reply["first"]
    if len(first) == 2:
        res["note"] = _compare(first["torch"], first["ember"])
    ready = list(est)
    # fewer repeats when a timing is long, to stay within the budget
    per_repeat = sum(res["n"][k] * est[k] for k in ready)
    if per_repeat > 0:
        repeats = max(3, min(repeats, int(budget / per_repeat)))
    times = {k: [] for k in ready}
    for r in range(repeats):
        for lname in ready if r % 2 == 0 else ready[::-1]:
            n = res["n"][lname]
            time.sleep(SETTLE)
            took = workers[lname].ask("time", n)
            if isinstance(took, str):
                raise RuntimeError(took)
            times[lname].append(took / n)
    for lname in ready:
        res[lname] = statistics.median(times[lname])
    res["repeats"] = repeats
    for worker in workers.values():
        worker.ask("drop")
    return res


def run_probe(lname, probe, threads, quick=False):
    cmd = [
        sys.executable,
        os.path.join(HERE, "memory_probe.py"),
        "--lib",
        lname,
        "--probe",
        probe,
        "--threads",
        str(threads),
    ]
    if quick and probe == "chain":
        cmd += ["--nodes", str(W.MEM_CHAIN // 4)]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
        if not lines:
            msg = (p.stderr.strip().splitlines() or ["no output"])[-1]
            return {"error": f"probe failed: {msg}"}
        return json.loads(lines[-1])
    except Exception as e:
        return {"error": f"{type(e).__name__}: {e}"}


# --------------------------------------------------------------------------
# formatting


def fmt_time(s):
    if s is None:
        return "-"
    if s < 1e-3:
        return "%.2f us" % (s * 1e6)
    if s < 1:
        return "%.3f ms" % (s * 1e3)
    return f"{s:.3f} s"


def fmt_mem(v, unit):
    if v is None:
        return "-"
    return ("%.0f %s" if unit == "B/node" else "%.1f %s") % (v, unit)


def machine_info():
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return cpu, os.cpu_count()


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--threads",
        type=int,
        nargs="+",
        default=[1, 2],
        help="thread counts to run at (default: 1 2)",
    )
    ap.add_argument("--quick", action="store_true", help="fewer repeats (~1 minute)")
    ap.add_argument("--only", default=None, help="run only workloads whose name contains this")
    ap.add_argument("--no-memory", action="store_true", help="skip the memory probes")
    ap.add_argument("--output", default=os.path.join(HERE, "RESULTS.md"))
    ap.add_argument(
        "--no-models",
        action="store_true",
        help="skip the model training steps (model_steps.py) and the jax.jit comparison",
    )
    args = ap.parse_args()

    repeats = 3 if args.quick else 11
    budget = 1.0 if args.quick else 8.0  # seconds of timed work per workload row

    try:
        load_start = os.getloadavg()
    except OSError:
        load_start = None
    rows = []  # dicts: name, threads, torch, ember, ratio, target, status, unit
    errors, notes = [], []
    t_start = time.perf_counter()
    hdr = "{:<28} {:>3} {:>13} {:>13} {:>8} {:>7}  {}".format(
        "workload",
        "thr",
        "torch",
        "ember",
        "ratio",
        "target",
        "result",
    )
    print(hdr)
    print("-" * len(hdr))

    def emit(row):
        rows.append(row)
        print(
            "{:<28} {:3d} {:>13} {:>13} {:>8} {:>7}  {}".format(
                row["name"],
                row["threads"],
                row["torch_s"],
                row["ember_s"],
                "{:.2f}x".format(row["ratio"]) if row["ratio"] is not None else "-",
                ">={:g}x".format(row["target"]),
                row["status"],
            ),
            flush=True,
        )

    for threads in args.threads:
        workers = {lname: LibraryProcess(lname, threads) for lname in LIBS}
        for name, _, _, target in W.WORKLOADS:
            if args.only and args.only.lower() not in name.lower():
                continue
            try:
                r = run_workload(name, workers, repeats, budget, 1 if args.quick else 2)
            except Exception as e:  # e.g. a failure in the timed loop
                r = {
                    "torch": None,
                    "ember": None,
                    "note": None,
                    "err": {
                        "ember": "{}: {}".format(type(e).__name__, (str(e).splitlines() or [""])[0])
                    },
                }
            ratio = r["torch"] / r["ember"] if r["torch"] and r["ember"] else None
            if r["err"]:
                status = "; ".join(
                    f"ERROR ({k}): {v}" if k != "ember" else f"ERROR: {v}"
                    for k, v in r["err"].items()
                )
                for k, v in r["err"].items():
                    errors.append(f"{name} [{k}, {threads:d} thr]: {v}")
            else:
                status = "pass" if ratio >= target else "FAIL"
            if r.get("note"):
                notes.append(
                    f"{name} ({threads:d} thr): results differ between torch and ember: {r['note']}"
                )
                status += " (mismatch)"
            emit(
                {
                    "name": name,
                    "threads": threads,
                    "torch": r["torch"],
                    "ember": r["ember"],
                    "torch_s": fmt_time(r["torch"]),
                    "ember_s": fmt_time(r["ember"]),
                    "ratio": ratio,
                    "target": target,
                    "status": status,
                    "kind": "time",
                }
            )

        for worker in workers.values():
            worker.close()

        # --quick measures memory at the first thread count only
        if not args.no_memory and not (args.quick and threads != args.threads[0]):
            for name, probe, unit, target in W.MEMORY_PROBES:
                if args.only and args.only.lower() not in name.lower():
                    continue
                res = {ln: run_probe(ln, probe, threads, args.quick) for ln in ("torch", "ember")}
                vals = {ln: res[ln].get("value") for ln in res}
                ratio = vals["torch"] / vals["ember"] if vals["torch"] and vals["ember"] else None
                errs = {ln: res[ln]["error"] for ln in res if "error" in res[ln]}
                if errs:
                    status = "; ".join(
                        f"ERROR ({k}): {v}" if k != "ember" else f"ERROR: {v}"
                        for k, v in errs.items()
                    )
                    for k, v in errs.items():
                        errors.append(f"{name} [{k}, {threads:d} thr]: {v}")
                else:
                    status = "pass" if ratio >= target else "FAIL"
                    if probe == "mlp":
                        notes.append(
                            "{} ({:d} thr): RSS before the steps (after import + setup) "
                            "torch {:.1f} MB, ember {:.1f} MB; growth during the steps "
                            "torch {:.1f} MB, ember {:.1f} MB".format(
                                name,
                                threads,
                                res["torch"]["rss_before_steps_mb"],
                                res["ember"]["rss_before_steps_mb"],
                                vals["torch"] - res["torch"]["rss_before_steps_mb"],
                                vals["ember"] - res["ember"]["rss_before_steps_mb"],
                            )
                        )
                emit(
                    {
                        "name": name,
                        "threads": threads,
                        "torch": vals["torch"],
                        "ember": vals["ember"],
                        "torch_s": fmt_mem(vals["torch"], unit),
                        "ember_s": fmt_mem(vals["ember"], unit),
                        "ratio": ratio,
                        "target": target,
                        "status": status,
                        "kind": "mem",
                    }
                )

    if not args.no_models and not args.only:
        print("\nmodel training steps and jax.jit (each library in its own process)...")
        args.model_tables = model_tables(args.quick)
        print("\n".join(args.model_tables))
    elapsed = time.perf_counter() - t_start
    print(f"\ntotal {elapsed:.0f} s")
    fails = [r for r in rows if r["status"].startswith("FAIL")]
    if fails:
        print(
            "failing targets: "
            + ", ".join("{} @{:d}".format(r["name"], r["threads"]) for r in fails)
        )
    for e in errors:
        print("error: " + e)
    for n in notes:
        print("note: " + n)

    write_results(args, rows, errors, notes, elapsed, load_start)
    try:
        plot(rows)
    except Exception as e:  # the chart is optional; never lose the results over it
        print(f"ratios.png not written: {e}")


def run_table_script(script, extra):
    """A side-by-side script's markdown table (each library in its own process)."""
    out = subprocess.run(
        [sys.executable, os.path.join(HERE, script), *extra],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    table = [line for line in out.stdout.splitlines() if line.startswith("|")]
    if out.returncode != 0 or not table:
        tail = (out.stderr.strip().splitlines() or ["no output"])[-1]
        return [f"`{script}` failed: {tail}", ""]
    return table + [""]


def model_tables(quick):
    """Model training steps and the jax.jit comparison, as RESULTS.md sections."""
    rounds = ["--rounds", "1" if quick else "3"]
    lines = [
        "## Model training steps (each library in its own process)\n",
        "`python benchmarks/model_steps.py`: one full training step (forward, loss, backward, "
        "optimizer) of each model in models.py, each library in a fresh process per round, "
        "alternating; threads `1` calls set_num_threads(1), `default` makes no call (Ember's "
        "count in parentheses). Ratio = torch / ember. Peak RSS growth is VmHWM above the RSS "
        "before the timed steps.\n",
    ]
    lines += run_table_script("model_steps.py", rounds)
    lines.append("## Against jax.jit\n")
    if importlib.util.find_spec("jax") is None:
        lines += ["jax is not installed (`pip install jax jaxlib`); comparison skipped.", ""]
    else:
        lines.append(
            "`python benchmarks/jax_steps.py`: the same steps as one jitted function in JAX, "
            "eager in Ember, each in its own process. Ratio = jax / ember.\n"
        )
        lines += run_table_script("jax_steps.py", rounds)
    return lines


def write_results(args, rows, errors, notes, elapsed, load_start=None):
    cpu, cores = machine_info()
    lines = []
    lines.append("# Ember vs torch benchmark results\n")
    lines.append(
        "Generated by `python benchmarks/run.py{}` on {} (took {:.0f} s).\n".format(
            (" --quick" if args.quick else "")
            + ("" if args.threads == [1, 2] else " --threads " + " ".join(map(str, args.threads)))
            + (f" --only '{args.only}'" if args.only else ""),
            datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
            elapsed,
        )
    )
    lines.append(
        f"- Machine: {cpu}, {cores} logical cores (`os.cpu_count()`), {platform.platform()}"
    )
    if load_start is not None:
        lines.append(
            "- Load average (1, 5, 15 min) at the start of the run: {}".format(
                " ".join(f"{x:.2f}" for x in load_start)
            )
        )
    try:
        lines.append(
            "- Load average at the end of the run: {}".format(
                " ".join(f"{x:.2f}" for x in os.getloadavg())
            )
        )
    except OSError:
        pass
    lines.append(
        "- Versions: Python {}, torch {}, ember {}, numpy {}".format(
            platform.python_version(),
            torch.__version__,
            getattr(ember, "__version__", "?"),
            np.__version__,
        )
    )
    lines.append(
        "- Thread counts: {} (set with `torch.set_num_threads` and `ember.set_num_threads`)".format(
            ", ".join(map(str, args.threads))
        )
    )
    lines.append(
        "- Times are medians of the per-iteration time over several repeats, each library in a "
        "process of its own, alternating the two; each repeat times an inner loop of >= 20 ms. "
        "Ratio = torch / ember "
        "(higher is better for Ember). Memory rows: ratio = torch / ember as well."
    )
    lines.append("")
    lines.append("| workload | threads | torch | ember | ratio torch/ember | target | result |")
    lines.append("|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        lines.append(
            "| {} | {:d} | {} | {} | {} | >= {:g}x | {} |".format(
                r["name"],
                r["threads"],
                r["torch_s"],
                r["ember_s"],
                "{:.2f}x".format(r["ratio"]) if r["ratio"] is not None else "-",
                r["target"],
                r["status"],
            )
        )
    lines.append("")
    fails = [r for r in rows if r["status"].startswith("FAIL")]
    lines.append(
        "Failing targets: %s"
        % (
            ", ".join(
                "{} ({:d} thr, {:.2f}x < {:g}x)".format(
                    r["name"], r["threads"], r["ratio"], r["target"]
                )
                for r in fails
            )
            if fails
            else "none"
        )
    )
    lines.append("")
    lines.extend(getattr(args, "model_tables", []))
    if errors:
        lines.append("Errors:\n")
        lines.extend("- " + e for e in errors)
        lines.append("")
    if notes:
        lines.append("Notes:\n")
        lines.extend("- " + n for n in notes)
        lines.append("")
    with open(args.output, "w") as f:
        f.write("\n".join(lines))
    print("wrote " + args.output)


def plot(rows):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except Exception:
        return
    names = list(dict.fromkeys(r["name"] for r in rows))
    threads = list(dict.fromkeys(r["threads"] for r in rows))
    width = 0.8 / max(1, len(threads))
    fig, ax = plt.subplots(figsize=(12, 0.45 * len(names) + 1.5))
    for j, t in enumerate(threads):
        ys, xs = [], []
        for i, n in enumerate(names):
            r = next((r for r in rows if r["name"] == n and r["threads"] == t), None)
            if r and r["ratio"]:
                ys.append(i + j * width)
                xs.append(r["ratio"])
        ax.barh(ys, xs, height=width, label="{:d} thread{}".format(t, "" if t == 1 else "s"))
    for i, n in enumerate(names):
        tgt = next(r["target"] for r in rows if r["name"] == n)
        ax.plot([tgt, tgt], [i - width / 2, i + width * (len(threads) - 0.5)], color="k", lw=1.5)
    ax.set_yticks([i + width * (len(threads) - 1) / 2 for i in range(len(names))])
    ax.set_yticklabels(names)
    ax.invert_yaxis()
    ax.set_xscale("log")
    finite = [r["ratio"] for r in rows if r["ratio"]] + [r["target"] for r in rows]
    ax.set_xlim(min(0.5, min(finite) * 0.8), max(finite) * 1.3)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%gx"))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.axvline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("torch time / ember time (memory rows: torch / ember); black tick = target")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "ratios.png"), dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
