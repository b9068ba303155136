"""Peak memory of one training step of a deep MLP, with and without activation
checkpointing, in Ember and in torch.

    python benchmarks/checkpoint_memory.py [--depth 32] [--width 256] [--batch 4096]
                                           [--segments 4]

Each configuration runs in a fresh subprocess that imports one library only.
Reported per configuration:

* peak RSS growth: VmHWM (/proc/self/status) after the step minus the resident
  set before it (after building the model and the input), in MiB;
* Ember only: the allocator's live bytes held between forward and backward
  (the activations kept for backward), and the largest live byte count seen at
  every layer boundary of the forward and backward passes. tracemalloc does not
  see these C++ buffers; the allocator's own counter does.
"""

import argparse
import json
import os
import subprocess
import sys

MiB = 1 << 20


def vm_hwm():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM")


def current_rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def child(lib_name, mode, depth, width, batch, segments):
    import numpy as np

    lib = __import__(lib_name)
    import_checkpoint = __import__(f"{lib_name}.utils.checkpoint", fromlist=["checkpoint"])
    lib.manual_seed(0)
    layers = []
    for _ in range(depth):
        layers += [lib.nn.Linear(width, width), lib.nn.Tanh()]
    model = lib.nn.Sequential(*layers)
    x = lib.tensor(np.random.default_rng(0).standard_normal((batch, width), dtype=np.float32))
    x.requires_grad_(True)

    stats = getattr(getattr(lib, "_C", None), "_buffer_stats", None)
    peak_live = [0]

    def sample(*_):
        if stats is not None:
            peak_live[0] = max(peak_live[0], stats()["live_bytes"])

    for m in model:
        m.register_forward_hook(lambda mod, inp, out: sample())

    def forward():
        if mode == "plain":
            out = model(x)
        else:
            out = import_checkpoint.checkpoint_sequential(
                model, segments, x, use_reentrant=(mode == "reentrant")
            )
        return out

    before = current_rss()
    base_live = stats()["live_bytes"] if stats else 0
    out = forward()
    held = (stats()["live_bytes"] - base_live) if stats else None
    if out.grad_fn is not None:
        out.register_hook(lambda g: sample() or g)
    loss = out.pow(2).mean()
    # Sample during backward at every parameter's gradient too.
    for p in model.parameters():
        p.register_hook(lambda g: sample() or g)
    loss.backward()
    sample()
    return {
        "peak_rss_growth_mib": (vm_hwm() - before) / MiB,
        "held_after_forward_mib": None if held is None else held / MiB,
        "peak_live_mib": (peak_live[0] - base_live) / MiB if stats else None,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--depth", type=int, default=32)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument("--segments", type=int, default=4)
    parser.add_argument("--child", nargs=2, metavar=("LIB", "MODE"))
    args = parser.parse_args()
    if args.child:
        result = child(*args.child, args.depth, args.width, args.batch, args.segments)
        print(json.dumps(result))
        return
    shape = f"--depth {args.depth} --width {args.width} --batch {args.batch}"
    print(f"MLP {args.depth} x (Linear({args.width}, {args.width}) + Tanh), batch {args.batch},")
    print(f"float32; checkpoint_sequential with {args.segments} segments\n")
    print("| library | mode | peak RSS growth | held after forward | peak live (allocator) |")
    print("|---|---|---:|---:|---:|")
    for lib in ("ember", "torch"):
        for mode in ("plain", "reentrant", "non-reentrant"):
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    lib,
                    mode,
                    "--segments",
                    str(args.segments),
                    *shape.split(),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            r = json.loads(done.stdout)

            def mib(v):
                return "-" if v is None else f"{v:.1f} MiB"

            print(
                f"| {lib} | {mode} | {mib(r['peak_rss_growth_mib'])} | "
                f"{mib(r['held_after_forward_mib'])} | {mib(r['peak_live_mib'])} |"
            )


if __name__ == "__main__":
    main()
