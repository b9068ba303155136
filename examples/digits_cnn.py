"""A small CNN learns the noisy 8x8 digits (digits.py) with SGD and momentum.

    python examples/digits_cnn.py [--plot loss.png]

Written for torch's API; run with PyTorch instead of Ember it prints the same
losses (Ember draws torch's initial weights for the same seed, and the batches
come from one NumPy permutation per epoch).
"""

import ember as torch
import numpy as np
from digits import digit_images
from training import parse_args, progress, save_plot

nn, F = torch.nn, torch.nn.functional


class DigitsCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)  # 8x8 -> 8x8, then pooled to 4x4
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)  # 4x4 -> 4x4, then pooled to 2x2
        self.fc = nn.Linear(16 * 2 * 2, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc(torch.flatten(x, 1))


def main():
    args = parse_args(__doc__.splitlines()[0])
    torch.manual_seed(0)
    images, labels = digit_images(1200)
    x = torch.from_numpy(images).unsqueeze(1)  # N x 1 x 8 x 8
    y = torch.from_numpy(labels)
    model = DigitsCNN()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    order = np.random.default_rng(1)
    epochs, batch = 8, 64
    steps_per_epoch = len(y) // batch
    losses = []
    for epoch in range(epochs):
        perm = torch.from_numpy(order.permutation(len(y)))
        total = 0.0
        for step in range(steps_per_epoch):
            idx = perm[step * batch : (step + 1) * batch]
            opt.zero_grad()
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            total += loss.item()
            losses.append(loss.item())
            progress(epoch * steps_per_epoch + step + 1, epochs * steps_per_epoch, loss.item())
        print(f"epoch {epoch + 1} loss {total / steps_per_epoch:.6f}")
    with torch.no_grad():
        accuracy = (model(x).argmax(1) == y).float().mean().item()
    print(f"training accuracy {accuracy:.4f}")
    save_plot(losses, args.plot, "digits CNN")


if __name__ == "__main__":
    main()
