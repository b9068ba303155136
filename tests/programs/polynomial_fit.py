"""Fits a degree-3 polynomial with a Linear layer over its powers, a smooth L1
loss and hand-written SGD through .data and .grad."""

import torch
import torch.nn.functional as F


def powers(x, degree=3):
    return torch.stack([x**k for k in range(1, degree + 1)], dim=1)


def describe(weights, bias):
    terms = " ".join(f"{w:+.3f}*x^{k}" for k, w in enumerate(weights.tolist(), start=1))
    return f"{terms} {bias.item():+.3f}"


def main():
    torch.manual_seed(7)
    true_weights, true_bias = torch.randn(3, 1) * 2, torch.randn(1)
    model = torch.nn.Linear(3, 1)
    for step in range(1, 301):
        x = torch.rand(64) * 2 - 1
        features = powers(x)
        target = features.mm(true_weights) + true_bias.item()
        model.zero_grad()
        loss = F.smooth_l1_loss(model(features), target)
        loss.backward()
        for parameter in model.parameters():
            parameter.data.add_(-0.2 * parameter.grad)
        if step % 100 == 0:
            print(f"step {step} loss {loss.item():.6f}")
    print("learned:", describe(model.weight.view(-1), model.bias))
    print("true:   ", describe(true_weights.view(-1), true_bias))


if __name__ == "__main__":
    main()
