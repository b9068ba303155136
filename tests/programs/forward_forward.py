"""The forward-forward algorithm: each layer trains alone to give positive
data (the true label written into the first pixels) high goodness and
negative data (a wrong label) low goodness, with its own Adam optimizer."""

import torch
from torch import nn
from torch.optim import Adam


def with_label(x, labels):
    marked = x.clone()
    marked[:, :10] *= 0.0
    marked[range(x.shape[0]), labels] = x.max()
    return marked


class GoodnessLayer(nn.Linear):
    def __init__(self, inputs, outputs, threshold=2.0, steps=45):
        super().__init__(inputs, outputs)
        self.optimizer = Adam(self.parameters(), lr=0.03)
        self.threshold, self.steps = threshold, steps

    def forward(self, x):
        direction = x / (x.norm(2, 1, keepdim=True) + 1e-4)
        return torch.relu(torch.mm(direction, self.weight.T) + self.bias.unsqueeze(0))

    def fit(self, positive, negative):
        for step in range(self.steps):
            good = self(positive).pow(2).mean(1)
            bad = self(negative).pow(2).mean(1)
            margins = torch.cat([self.threshold - good, bad - self.threshold])
            loss = torch.log(1 + torch.exp(margins)).mean()
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            if step % 15 == 0:
                print(f"  step {step} loss {loss.item():.6f}")
        return self(positive).detach(), self(negative).detach()


def predict(layers, x):
    scores = []
    for label in range(10):
        h, goodness = with_label(x, label), 0
        for layer in layers:
            h = layer(h)
            goodness = goodness + h.pow(2).mean(1)
        scores.append(goodness.unsqueeze(1))
    return torch.cat(scores, 1).argmax(1)


def main():
    torch.manual_seed(21)
    x, labels = torch.rand(150, 784), torch.randint(0, 10, (150,))
    layers = [GoodnessLayer(784, 64), GoodnessLayer(64, 64)]
    positive = with_label(x, labels)
    negative = with_label(x, labels[torch.randperm(x.size(0))])
    for index, layer in enumerate(layers):
        print("layer", index)
        positive, negative = layer.fit(positive, negative)
    accuracy = predict(layers, x).eq(labels).float().mean().item()
    print(f"train accuracy {accuracy:.6f}")


if __name__ == "__main__":
    main()
