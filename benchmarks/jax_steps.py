"""Ember against jax.jit on the MLP and tutorial training steps.

    python benchmarks/jax_steps.py [--rounds 3] [--threads 1 default]

JAX (optional: `pip install jax jaxlib`) is what a user picks for speed: each
step is one compiled function. Ember runs the same step eagerly
and reads the loss each step; JAX only waits for it (block_until_ready). Each library
runs in its own process per round; a "default" thread setting makes no thread
call (for JAX, a single-thread round sets XLA's CPU flags to one thread).
Prints a markdown table: ratio = jax time / ember time (higher is better for
Ember).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

EMBER_CHILD = r"""
import json, sys, time, statistics
sys.path.insert(0, {here!r})
import numpy as np, ember
if {threads!r} != "default":
    ember.set_num_threads(int({threads!r}))
import workloads as W
rng = np.random.default_rng(0)
if {step!r} == "tutorial":
    step = W.setup_tutorial(ember, W.data_tutorial(rng))
elif {step!r} == "tutorial 5x3":
    x, y = ember.ones(5), ember.zeros(3)
    w = ember.tensor(rng.standard_normal((5, 3)).astype(np.float32), requires_grad=True)
    b = ember.tensor(rng.standard_normal(3).astype(np.float32), requires_grad=True)
    F = ember.nn.functional

    def step():
        loss = F.binary_cross_entropy_with_logits(x @ w + b, y)
        w.grad = b.grad = None
        loss.backward()
        with ember.no_grad():
            w.sub_(0.1 * w.grad)
            b.sub_(0.1 * b.grad)
        return loss.item()
else:
    step = W.setup_mlp(ember, W.data_mlp(rng, init_from_torch=False))
"""

JAX_CHILD = r"""
import os, sys
if {threads!r} != "default":
    os.environ["XLA_FLAGS"] = ("--xla_cpu_multi_thread_eigen=false "
                               "intra_op_parallelism_threads=1")
sys.path.insert(0, {here!r})
import numpy as np, jax, jax.numpy as jnp
import workloads as W
if {step!r} == "mlp":
    d = W.data_mlp(np.random.default_rng(0), init_from_torch=False)
    params = [jnp.asarray(d[k]) for k in ("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias")]
    X, y = jnp.asarray(d["X"]), jnp.asarray(d["y"])

    def loss_fn(p):
        h = jax.nn.relu(X @ p[0].T + p[1])
        logits = h @ p[2].T + p[3]
        logp = jax.nn.log_softmax(logits)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    @jax.jit
    def update(p):
        loss, g = jax.value_and_grad(loss_fn)(p)
        return loss, [a - 0.01 * b for a, b in zip(p, g)]
elif {step!r} == "tutorial 5x3":
    rng = np.random.default_rng(0)
    x, y = jnp.ones(5), jnp.zeros(3)
    params = [jnp.asarray(rng.standard_normal((5, 3)).astype(np.float32)),
              jnp.asarray(rng.standard_normal(3).astype(np.float32))]

    def loss_fn(p):
        z = x @ p[0] + p[1]
        return jnp.mean(jnp.maximum(z, 0) - z * y + jnp.log1p(jnp.exp(-jnp.abs(z))))

    @jax.jit
    def update(p):
        loss, g = jax.value_and_grad(loss_fn)(p)
        return loss, [a - 0.1 * b for a, b in zip(p, g)]
else:
    d = W.data_tutorial(np.random.default_rng(0))
    params = [jnp.asarray(d["w"]), jnp.asarray(d["b"])]
    X, y = jnp.asarray(d["X"]), jnp.asarray(d["y"])

    def loss_fn(p):
        return jnp.mean((X @ p[0] + p[1] - y) ** 2)

    @jax.jit
    def update(p):
        loss, g = jax.value_and_grad(loss_fn)(p)
        return loss, [a - 0.1 * b for a, b in zip(p, g)]

state = {{"p": params}}

def step():
    loss, state["p"] = update(state["p"])
    return loss.block_until_ready()
"""

TIMER = r"""
for _ in range(20):
    step()
times = []
deadline = time.perf_counter() + 1.0
while time.perf_counter() < deadline or len(times) < 20:
    t0 = time.perf_counter()
    step()
    times.append(time.perf_counter() - t0)
print(json.dumps({"time": statistics.median(times)}))
"""


def run_child(lib, step, threads):
    body = (EMBER_CHILD if lib == "ember" else JAX_CHILD).format(
        here=HERE, step=step, threads=threads
    )
    code = body + "\nimport json, statistics, time\n" + TIMER
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=HERE
    )
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["?"])[-1][:120]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def fmt(s):
    return f"{s * 1e3:.3f} ms" if s >= 1e-3 else f"{s * 1e6:.1f} us"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", nargs="+", default=["1", "default"])
    args = ap.parse_args()
    print("| step | threads | jax.jit | ember | jax/ember |")
    print("|---|---|---:|---:|---:|")
    for step in ("tutorial 5x3", "tutorial", "mlp"):
        for threads in args.threads:
            res = {"jax": [], "ember": []}
            order = ["jax", "ember"]
            for _ in range(args.rounds):
                for lib in order:
                    res[lib].append(run_child(lib, step, threads))
                order.reverse()
            errors = [r["error"] for v in res.values() for r in v if "error" in r]
            if errors:
                print(f"| {step} | {threads} | error: {errors[0]} | | |")
                continue
            med = {k: statistics.median(r["time"] for r in v) for k, v in res.items()}
            ratio = med["jax"] / med["ember"]
            print(
                f"| {step} | {threads} | {fmt(med['jax'])} | {fmt(med['ember'])} | {ratio:.2f}x |",
                flush=True,
            )


if __name__ == "__main__":
    main()
