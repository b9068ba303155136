"""Noisy 8x8 digit images drawn from a 5x7 font (no download), for the examples."""

import numpy as np

FONT = {
    0: ["01110", "10001", "10011", "10101", "11001", "10001", "01110"],
    1: ["00100", "01100", "00100", "00100", "00100", "00100", "01110"],
    2: ["01110", "10001", "00001", "00010", "00100", "01000", "11111"],
    3: ["11111", "00010", "00100", "00010", "00001", "10001", "01110"],
    4: ["00010", "00110", "01010", "10010", "11111", "00010", "00010"],
    5: ["11111", "10000", "11110", "00001", "00001", "10001", "01110"],
    6: ["00110", "01000", "10000", "11110", "10001", "10001", "01110"],
    7: ["11111", "00001", "00010", "00100", "01000", "01000", "01000"],
    8: ["01110", "10001", "10001", "01110", "10001", "10001", "01110"],
    9: ["01110", "10001", "10001", "01111", "00001", "00010", "01100"],
}


def digit_images(n, seed=0):
    """n images (float32, n x 8 x 8): a glyph at a random offset plus Gaussian
    noise, and their labels (int64)."""
    rng = np.random.default_rng(seed)
    glyphs = {
        d: np.array([[int(c) for c in row] for row in rows], np.float32) for d, rows in FONT.items()
    }
    labels = rng.integers(0, 10, n)
    images = np.zeros((n, 8, 8), np.float32)
    for i, d in enumerate(labels):
        dy, dx = rng.integers(0, 2), rng.integers(0, 4)
        images[i, dy : dy + 7, dx : dx + 5] = glyphs[int(d)]
    images += rng.normal(0, 0.3, images.shape).astype(np.float32)
    return images, labels.astype(np.int64)
