"""The thread pool: resizing after kernels ran, and results independent of thread count."""

import subprocess
import sys

import ember
import numpy as np


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
