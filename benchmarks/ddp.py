"""Data-parallel benchmarks: Ember's DDP over MPI against torch's DDP over gloo, and
ember.distributed's all-reduce against mpi4py on NumPy arrays (the MPI engine's own
ceiling).

    pip install ".[distributed]" torch==2.13.0
    python benchmarks/ddp.py             # ~2 minutes; writes benchmarks/DISTRIBUTED.md
    python benchmarks/ddp.py --quick     # one round, fewer sizes

Every measurement is a 2-process job on this machine (`mpiexec -n 2`), one
compute thread per rank (2 ranks on 2 cores). DDP rows: the models of models.py
plus a wide MLP, wrapped in each library's DistributedDataParallel, the same
per-rank batch; each round launches Ember's job and torch's job in turn
(alternating which goes first), each warms up, times steps for about a second and
reports rank 0's median step; the table gives the median over rounds. torch's
ranks find each other over TCP on 127.0.0.1 (gloo), Ember's through MPI.
All-reduce rows: one job times `ember.distributed.all_reduce` on an Ember tensor
and `comm.Allreduce(MPI.IN_PLACE, array)` on a NumPy array of the same size,
alternating, and reports the median and the best repeat; bandwidth is the
buffer's bytes over the best time.
"""

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

SIZES_MB = [1, 4, 16, 64, 100]


def wide_mlp(lib, wrap=None):
    """MLP 64x784-2048-2048-10 (5.8M parameters, 23 MB of gradients), SGD with momentum."""
    rng = np.random.default_rng(0)
    nn, F = lib.nn, lib.nn.functional
    lib.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(784, 2048), nn.ReLU(), nn.Linear(2048, 2048), nn.ReLU(), nn.Linear(2048, 10)
    )
    model = wrap(model) if wrap else model
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    X = lib.tensor(rng.standard_normal((64, 784)).astype(np.float32))
    y = lib.tensor(rng.integers(0, 10, size=64))

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(X), y)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def _models():
    import models

    return {
        "MLP 64x784-256-10 (SGD)": models.mlp,
        "wide MLP 64x784-2048-2048-10 (SGD momentum)": wide_mlp,
        "char transformer (AdamW)": models.char_transformer,
    }


# ----- workers (run under mpiexec) ----------------------------------------------------


def worker_ddp(lib_name, model_name, seconds):
    if lib_name == "torch":
        import torch as lib
        import torch.distributed as dist

        lib.set_num_threads(1)
        os.environ["RANK"] = os.environ.get("PMI_RANK", "0")
        os.environ["WORLD_SIZE"] = os.environ.get("PMI_SIZE", "1")
        dist.init_process_group("gloo")
    else:
        import ember as lib
        import ember.distributed as dist

        lib.set_num_threads(1)
        dist.init_process_group("mpi")
    step = _models()[model_name](lib, wrap=lambda m: lib.nn.parallel.DistributedDataParallel(m))
    for _ in range(5):
        step()
    times = []
    dist.barrier()
    start = time.perf_counter()
    # Every rank runs the same number of steps: rank 0 decides when to stop.
    flag = lib.zeros(1)
    while True:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
        if len(times) % 5 == 0:
            flag.fill_(1.0 if time.perf_counter() - start > seconds else 0.0)
            dist.broadcast(flag, 0)
            if flag.item():
                break
    if dist.get_rank() == 0:
        print(json.dumps({"median": float(np.median(times)), "steps": len(times)}), flush=True)
    dist.barrier()
    if lib_name == "torch":
        os._exit(0)  # gloo's teardown under mpiexec can abort ("terminate called ...")
    dist.destroy_process_group()


def worker_bandwidth(sizes_mb, repeats):
    import ember
    import ember.distributed as dist

    dist.init_process_group("mpi")
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    out = {}
    for mb in sizes_mb:
        n = mb * 1024 * 1024 // 4
        t = ember.ones(n)
        a = np.ones(n, dtype=np.float32)
        inner = max(1, int(64 / mb))
        ours, theirs = [], []
        for r in range(repeats):
            for which in ("ember", "mpi4py") if r % 2 == 0 else ("mpi4py", "ember"):
                dist.barrier()
                t0 = time.perf_counter()
                for _ in range(inner):
                    if which == "ember":
                        dist.all_reduce(t)
                    else:
                        comm.Allreduce(MPI.IN_PLACE, a)
                elapsed = (time.perf_counter() - t0) / inner
                (ours if which == "ember" else theirs).append(elapsed)
                # keep the values finite: 2**k grows past float32 after 128 doublings
                if which == "ember":
                    t.fill_(1.0)
                else:
                    a.fill(1.0)
        # the slowest rank decides what a collective costs
        stats = np.array([np.median(ours), np.median(theirs), min(ours), min(theirs)])
        comm.Allreduce(MPI.IN_PLACE, stats, op=MPI.MAX)
        out[mb] = {
            "ember": stats[0],
            "mpi4py": stats[1],
            "ember_best": stats[2],
            "mpi4py_best": stats[3],
        }
    if comm.Get_rank() == 0:
        print(json.dumps(out))
    dist.destroy_process_group()


# ----- driver -------------------------------------------------------------------------


def _mpiexec():
    beside = Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.exists() else shutil.which("mpiexec")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(args):
    env = dict(
        os.environ,
        EMBER_NUM_THREADS="1",
        OMP_NUM_THREADS="1",
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(_free_port()),
    )
    cmd = [_mpiexec(), "-n", "2", sys.executable, str(Path(__file__).resolve()), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _fmt_time(s):
    return f"{s * 1e3:.2f} ms" if s >= 1e-3 else f"{s * 1e6:.1f} us"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker", choices=["ddp", "bandwidth"])
    parser.add_argument("--lib")
    parser.add_argument("--model")
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--sizes", type=int, nargs="*", default=SIZES_MB)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--out", default=str(HERE / "DISTRIBUTED.md"))
    args = parser.parse_args()
    if args.worker == "ddp":
        return worker_ddp(args.lib, args.model, args.seconds)
    if args.worker == "bandwidth":
        return worker_bandwidth(args.sizes, args.repeats)

    rounds = 1 if args.quick else args.rounds
    sizes = [1, 16, 100] if args.quick else args.sizes
    started = time.time()
    load_start = os.getloadavg()
    lines = []
    ddp_rows = []
    for model in _models():
        got = {"ember": [], "torch": []}
        for r in range(rounds):
            for lib in ("ember", "torch") if r % 2 == 0 else ("torch", "ember"):
                res = _launch(
                    [
                        "--worker",
                        "ddp",
                        "--lib",
                        lib,
                        "--model",
                        model,
                        "--seconds",
                        str(args.seconds),
                    ]
                )
                got[lib].append(res["median"])
        e, t = np.median(got["ember"]), np.median(got["torch"])
        ddp_rows.append((model, t, e))
        print(
            f"{model}: torch {_fmt_time(t)}, ember {_fmt_time(e)}, ratio {t / e:.2f}x", flush=True
        )
    bw = _launch(
        ["--worker", "bandwidth", "--repeats", str(args.repeats), "--sizes", *map(str, sizes)]
    )
    bw_rows = []
    for mb in sizes:
        row = bw[str(mb)]
        e, m, e_best, m_best = row["ember"], row["mpi4py"], row["ember_best"], row["mpi4py_best"]
        bw_rows.append((mb, m, e, m_best, e_best))
        print(
            f"all_reduce {mb} MB: median mpi4py {_fmt_time(m)}, ember {_fmt_time(e)}; "
            f"best mpi4py {_fmt_time(m_best)}, ember {_fmt_time(e_best)}, {m_best / e_best:.2f}x",
            flush=True,
        )

    import ember
    import mpi4py
    import torch
    from mpi4py import MPI

    lines += [
        "# Data-parallel benchmarks",
        "",
        f"Generated by `python benchmarks/ddp.py{' --quick' if args.quick else ''}` on "
        f"{time.strftime('%Y-%m-%d %H:%M')} (took {time.time() - started:.0f} s).",
        "",
        f"- Machine: {_cpu()}, {os.cpu_count()} logical cores, {platform.platform()}",
        f"- Load average (1, 5, 15 min) at the start: {' '.join(f'{x:.2f}' for x in load_start)}; "
        f"at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"- Versions: Python {platform.python_version()}, torch {torch.__version__}, ember "
        f"{ember.__version__}, mpi4py {mpi4py.__version__}, "
        f"{MPI.Get_library_version().splitlines()[0].strip()}",
        "- 2 processes (`mpiexec -n 2`), one compute thread each; "
        f"{rounds} round(s) per DDP row, medians.",
        "",
        "## DDP training step, 2 ranks",
        "",
        "Same model and per-rank batch in both; Ember's DDP over MPI, torch's over gloo (TCP on "
        "127.0.0.1). Ratio = torch / Ember (higher is better for Ember); target >= 1.",
        "",
        "| model | torch DDP (gloo) | Ember DDP (MPI) | ratio | result |",
        "|---|---:|---:|---:|---|",
    ]
    for model, t, e in ddp_rows:
        lines.append(
            f"| {model} | {_fmt_time(t)} | {_fmt_time(e)} | {t / e:.2f}x | "
            f"{'pass' if t / e >= 1 else 'FAIL'} |"
        )
    lines += [
        "",
        "## All-reduce (sum) of float32 buffers, 2 ranks",
        "",
        "Ember: `ember.distributed.all_reduce(tensor)`; MPI: `comm.Allreduce(MPI.IN_PLACE, array)` "
        "through mpi4py on a NumPy array, the same MPICH underneath. Times per all-reduce: the "
        f"median and the best of {args.repeats} alternating repeats; bandwidth = bytes / best "
        "time (the least disturbed by other processes). Target: Ember within 10% of mpi4py.",
        "",
        "| size | mpi4py median | Ember median | mpi4py best | Ember best | mpi4py GB/s "
        "| Ember GB/s | Ember / mpi4py bandwidth | result |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for mb, m, e, m_best, e_best in bw_rows:
        nbytes = mb * 1024 * 1024
        ratio = m_best / e_best
        lines.append(
            f"| {mb} MB | {_fmt_time(m)} | {_fmt_time(e)} | {_fmt_time(m_best)} | "
            f"{_fmt_time(e_best)} | {nbytes / m_best / 1e9:.2f} | {nbytes / e_best / 1e9:.2f} | "
            f"{ratio:.2f} | {'pass' if ratio >= 0.9 else 'FAIL'} |"
        )
    lines += [
        "",
        "## Notes",
        "",
        "- A DDP step is the model's own step plus the gradient all-reduce, so a row whose "
        "single-process step is slower in Ember than in torch (`RESULTS.md`, model steps at one "
        "thread) stays slower here by about as much; the distributed part is the difference.",
        "- Ember's buffers from 4 MiB up sit on transparent huge pages (Note [Huge pages] in "
        "`cpp/ember/allocator.cpp`), as NumPy's do; without them MPI's shared-memory copies of "
        "4-16 MB took a quarter longer than of NumPy arrays.",
        "- Each rank's MPI waits by polling. With 2 ranks on 2 cores, the worker thread that "
        "all-reduces a bucket during the backward pass shares its rank's core with it.",
        "- Other processes on the machine (see the load averages) disturb both libraries; rows "
        "within a few percent of 1.00x are within that noise.",
    ]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


def _cpu():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
