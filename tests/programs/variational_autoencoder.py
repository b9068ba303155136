"""A variational autoencoder on random 28x28 images: reparameterized sampling,
a summed binary cross-entropy plus KL divergence, Adam, a shuffling loader."""

import torch
import torch.nn.functional as F
from torch import nn, optim


class Encoder(nn.Module):
    def __init__(self, pixels=784, hidden=256, latent=16):
        super().__init__()
        self.body = nn.Linear(pixels, hidden)
        self.mean = nn.Linear(hidden, latent)
        self.log_variance = nn.Linear(hidden, latent)

    def forward(self, images):
        h = F.relu(self.body(images.flatten(1)))
        return self.mean(h), self.log_variance(h)


class Decoder(nn.Sequential):
    def __init__(self, latent=16, hidden=256, pixels=784):
        super().__init__(
            nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, pixels), nn.Sigmoid()
        )


def negative_elbo(reconstruction, images, mean, log_variance):
    fit = F.binary_cross_entropy(reconstruction, images.flatten(1), reduction="sum")
    divergence = -0.5 * torch.sum(1 + log_variance - mean.pow(2) - log_variance.exp())
    return fit + divergence


def main():
    torch.manual_seed(3)
    images = torch.rand(192, 1, 28, 28)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(images), batch_size=48, shuffle=True
    )
    encoder, decoder = Encoder(), Decoder()
    parameters = list(encoder.parameters()) + list(decoder.parameters())
    optimizer = optim.Adam(parameters, lr=2e-3)
    for epoch in range(3):
        total = 0.0
        for (batch,) in loader:
            mean, log_variance = encoder(batch)
            noise = torch.randn_like(mean)
            code = mean + noise * torch.exp(0.5 * log_variance)
            loss = negative_elbo(decoder(code), batch, mean, log_variance)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
        print(f"epoch {epoch}: negative ELBO per image {total / len(loader.dataset):.5f}")
    with torch.no_grad():
        samples = decoder(torch.randn(6, 16)).view(6, 1, 28, 28)
    print("samples", tuple(samples.shape), f"mean {samples.mean().item():.6f}")
    print(f"std {samples.std().item():.6f} max {samples.max().item():.6f}")


if __name__ == "__main__":
    main()
