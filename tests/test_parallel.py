"""The thread pool: resizing after kernels ran, and results independent of thread count."""

import subprocess
import sys

import ember
import numpy as np
import pytest


def test_set_num_threads_after_parallel_kernels_keeps_working():
    # Run in a subprocess: a pool bug here used to crash or hang the process.
    code = (
        "import ember\n"
        "a = ember.ones(10**6)\n"
        "out = [(a + a).sum().item()]\n"
        "for n in (4, 1, 3, 2):\n"
        "    ember.set_num_threads(n)\n"
        "    out.append((a + a).sum().item())\n"
        "print(out)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str([2e6] * 5)


def test_results_do_not_depend_on_thread_count():
    x = np.random.default_rng(0).standard_normal(300_001).astype(np.float32)
    results = []
    for n in (1, 2, 3):
        ember.set_num_threads(n)
        t = ember.from_numpy(x)
        results.append((ember.exp(t).numpy().copy(), (t * 2 + 1).numpy().copy()))
    ember.set_num_threads(2)
    for exp_n, affine_n in results[1:]:
        np.testing.assert_array_equal(exp_n, results[0][0])
        np.testing.assert_array_equal(affine_n, results[0][1])
    np.testing.assert_allclose(results[0][1], x * 2 + 1, rtol=1e-6)


def test_large_sums_are_bitwise_identical_at_any_thread_count():
    # Blocks of fixed size, claimed by whichever thread is free, summed in order.
    rng = np.random.default_rng(1)
    x32 = rng.standard_normal(1_000_003).astype(np.float32)
    x64 = rng.standard_normal(700_001)
    sums = []
    for n in (1, 2, 3, 5):
        ember.set_num_threads(n)
        sums.append((ember.from_numpy(x32).sum().item(), ember.from_numpy(x64).sum().item()))
    ember.set_num_threads(2)
    assert all(s == sums[0] for s in sums), sums
    # The float lanes are folded into a double often enough to stay near the exact sum.
    assert abs(sums[0][0] - x32.astype(np.float64).sum()) < 1e-3
    assert abs(sums[0][1] - x64.sum()) < 1e-9


def test_sum_of_every_length_near_the_stream_split():
    # The streamed float sum reads four quarters plus a tail; check each boundary.
    for n in list(range(0, 140)) + [65535, 65536, 65537, 262143]:
        x = (np.arange(n) % 7).astype(np.float32)
        assert ember.from_numpy(x).sum().item() == float((np.arange(n) % 7).sum()), n


def _run(code, env=None, timeout=120):
    import os

    full_env = dict(os.environ)
    full_env.pop("EMBER_NUM_THREADS", None)
    full_env.pop("OMP_NUM_THREADS", None)
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=full_env
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_default_thread_count_follows_env_and_cpu_affinity():
    code = "import ember; print(ember.get_num_threads())"
    assert _run(code, {"EMBER_NUM_THREADS": "3"}) == "3"
    assert _run(code, {"OMP_NUM_THREADS": "5"}) == "5"
    assert _run(code, {"EMBER_NUM_THREADS": "2", "OMP_NUM_THREADS": "5"}) == "2"
    # Restricted to one core (as taskset or a container does), the default is 1.
    pinned = "import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); " + code
    assert _run(pinned) == "1"


def test_openblas_stays_single_threaded_and_products_use_the_pool():
    # One thread budget: OpenBLAS's own pool is never used, whatever the count.
    code = (
        "import ctypes, glob, os, ember, numpy as np, scipy_openblas32 as s\n"
        "lib = ctypes.CDLL(glob.glob(os.path.join(s.get_lib_dir(), 'libscipy_openblas*.so'))[0])\n"
        "ember.set_num_threads(2)\n"
        "a = np.random.default_rng(0).standard_normal((300, 400)).astype(np.float32)\n"
        "c = ember.from_numpy(a) @ ember.from_numpy(a.T.copy())\n"
        "ok = np.allclose(c.numpy(), a @ a.T, rtol=1e-4, atol=1e-3)\n"
        "print(lib.scipy_openblas_get_num_threads(), ok)\n"
    )
    assert _run(code) == "1 True"


def test_products_and_batched_products_do_not_depend_on_thread_count():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((64, 784))
    w = rng.standard_normal((784, 512))
    q = rng.standard_normal((64, 64, 32))
    k = rng.standard_normal((64, 32, 64))
    out = []
    for n in (1, 2, 3):
        ember.set_num_threads(n)
        out.append(
            (
                (ember.from_numpy(a) @ ember.from_numpy(w)).numpy().copy(),
                ember.bmm(ember.from_numpy(q), ember.from_numpy(k)).numpy().copy(),
            )
        )
    ember.set_num_threads(2)
    np.testing.assert_allclose(out[0][0], a @ w, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(out[0][1], q @ k, rtol=1e-10, atol=1e-10)
    for mm, bmm in out[1:]:
        np.testing.assert_allclose(mm, out[0][0], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(bmm, out[0][1], rtol=1e-12, atol=1e-12)


def test_forked_child_runs_large_kernels():
    # The parent's workers do not exist in a forked child; its first large
    # kernel must not wait for them (it used to hang forever).
    code = (
        "import os, ember\n"
        "ember.set_num_threads(2)\n"
        "a = ember.ones(10**6)\n"
        "(a * 2).sum()\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    ok = (a * 3).sum().item() == 3e6 and (ember.ones(300, 300) @ ember.ones(300, 300))"
        "[0, 0].item() == 300\n"
        "    os._exit(0 if ok else 1)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "print(os.waitstatus_to_exitcode(status))\n"
    )
    assert _run(code, timeout=60) == "0"


PRIOR_USES = {
    "import_only": "",
    "get_num_threads": "ember.get_num_threads()",
    "set_num_threads": "ember.set_num_threads(2)",
    "parallel_kernel": "(ember.ones(10**6) * 2).exp().sum()",
    "blas_call": "ember.ones(300, 300) @ ember.ones(300, 300)",
    "backward": "w = ember.ones(200, 200, requires_grad=True); (w @ w).tanh().sum().backward()",
    "hook": (
        "w = ember.ones(3, requires_grad=True); w.register_hook(lambda g: g * 2); "
        "(w * w).sum().backward()"
    ),
}
CHILD_WORK = (
    "def work(_=None):\n"
    "    a = ember.ones(10**6)\n"
    "    w = ember.ones(300, 300, requires_grad=True)\n"
    "    w.register_hook(lambda g: g + 1)\n"
    "    (w @ w).sum().backward()\n"
    "    return (a * 3).sum().item() == 3e6 and w.grad[0, 0].item() == 601\n"
)


@pytest.mark.parametrize("prior", PRIOR_USES.values(), ids=PRIOR_USES.keys())
def test_forked_child_finishes_after_any_prior_use(prior):
    code = (
        "import os, ember\n"
        f"{prior}\n"
        f"{CHILD_WORK}"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    os._exit(0 if work() else 1)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "print(os.waitstatus_to_exitcode(status), work())\n"
    )
    assert _run(code, timeout=60) == "0 True"


def test_a_fork_pool_maps_after_the_parent_computed():
    code = (
        "import multiprocessing, ember\n"
        "ember.set_num_threads(2)\n"
        "(ember.ones(10**6) * 2).sum(); ember.ones(300, 300) @ ember.ones(300, 300)\n"
        f"{CHILD_WORK}"
        "with multiprocessing.get_context('fork').Pool(2) as pool:\n"
        "    print(all(pool.map(work, range(4))))\n"
    )
    assert _run(code, timeout=90) == "True"


def test_set_num_threads_refuses_non_positive_counts_like_torch():
    import torch

    for n in (0, -1):
        for lib in (ember, torch):
            try:
                lib.set_num_threads(n)
                raise AssertionError(f"{lib.__name__} accepted {n}")
            except RuntimeError as exc:
                assert "set_num_threads expects a positive integer" in str(exc)
    assert ember.get_num_threads() >= 1
