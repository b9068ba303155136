"""An LSTM learns to continue noisy sine waves, one value after another.

    python examples/lstm_sequence.py [--plot loss.png]

Each sequence is a sine of its own frequency and phase; the model reads it and
predicts every next value (mean squared error), then continues one wave on its
own predictions. Run with PyTorch instead of Ember, it prints the same losses
and predictions.
"""

import ember as torch
import numpy as np
from training import parse_args, progress, save_plot

nn, F = torch.nn, torch.nn.functional


def waves(n, length, seed):
    """n sine waves of `length` samples (n x length x 1, float32)."""
    rng = np.random.default_rng(seed)
    t = np.arange(length, dtype=np.float32)
    freq = rng.uniform(0.1, 0.3, (n, 1)).astype(np.float32)
    phase = rng.uniform(0, 2 * np.pi, (n, 1)).astype(np.float32)
    noise = rng.normal(0, 0.02, (n, length)).astype(np.float32)
    return torch.from_numpy((np.sin(freq * t + phase) + noise)[..., None])


class NextValue(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.lstm = nn.LSTM(1, hidden, num_layers=2, batch_first=True)
        self.out = nn.Linear(hidden, 1)

    def forward(self, x, state=None):
        h, state = self.lstm(x, state)
        return self.out(h), state


def continue_wave(model, start, steps):
    """Reads `start` (1 x T x 1), then feeds its own predictions back `steps` times."""
    with torch.no_grad():
        y, state = model(start)
        value, out = y[:, -1:], []
        for _ in range(steps):
            out.append(value.item())
            value, state = model(value, state)
    return out


def main():
    args = parse_args(__doc__.splitlines()[0])
    torch.manual_seed(0)
    train, test = waves(64, 40, seed=1), waves(8, 40, seed=2)
    model = NextValue()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    steps, losses = 150, []
    for step in range(steps):
        opt.zero_grad()
        prediction, _ = model(train[:, :-1])
        loss = F.mse_loss(prediction, train[:, 1:])
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        progress(step + 1, steps, loss.item())
        if (step + 1) % 30 == 0:
            with torch.no_grad():
                test_loss = F.mse_loss(model(test[:, :-1])[0], test[:, 1:]).item()
            print(f"step {step + 1} loss {loss.item():.6f} test loss {test_loss:.6f}")
    continued = continue_wave(model, test[:1, :30], 5)
    print("continued wave:", " ".join(f"{v:.4f}" for v in continued))
    print("true wave:     ", " ".join(f"{v:.4f}" for v in test[0, 30:35, 0].tolist()))
    save_plot(losses, args.plot, "LSTM next-value loss")


if __name__ == "__main__":
    main()
