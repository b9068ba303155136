"""Two stacked LSTM cells learn shifted sine waves in float64 with L-BFGS, then
predict past the end of the sequence."""

import numpy as np
import torch
from torch import nn, optim


class Predictor(nn.Module):
    def __init__(self, hidden=24):
        super().__init__()
        self.hidden = hidden
        self.first = nn.LSTMCell(1, hidden)
        self.second = nn.LSTMCell(hidden, hidden)
        self.readout = nn.Linear(hidden, 1)

    def forward(self, series, extra_steps=0):
        zeros = lambda: torch.zeros(series.size(0), self.hidden, dtype=torch.double)  # noqa: E731
        state1, state2 = (zeros(), zeros()), (zeros(), zeros())
        outputs = []
        for value in series.split(1, dim=1):
            state1 = self.first(value, state1)
            state2 = self.second(state1[0], state2)
            outputs.append(self.readout(state2[0]))
        for _ in range(extra_steps):
            state1 = self.first(outputs[-1], state1)
            state2 = self.second(state1[0], state2)
            outputs.append(self.readout(state2[0]))
        return torch.cat(outputs, dim=1)


def main():
    rng = np.random.default_rng(5)
    starts = rng.integers(-40, 40, size=(8, 1))
    waves = np.sin((np.arange(60) + starts) / 8.0)
    train_in, train_out = torch.from_numpy(waves[2:, :-1]), torch.from_numpy(waves[2:, 1:])
    test_in, test_out = torch.from_numpy(waves[:2, :-1]), torch.from_numpy(waves[:2, 1:])
    torch.manual_seed(0)
    model = Predictor().double()
    loss_fn = nn.MSELoss()
    optimizer = optim.LBFGS(model.parameters(), lr=0.8, max_iter=12)

    def closure():
        optimizer.zero_grad()
        loss = loss_fn(model(train_in), train_out)
        print("closure loss", f"{loss.item():.10f}")
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        forecast = model(test_in, extra_steps=10)
        print("test loss", f"{loss_fn(forecast[:, :-10], test_out).item():.10f}")
        print("last forecast", f"{forecast[0, -1].item():.10f}")


if __name__ == "__main__":
    main()
