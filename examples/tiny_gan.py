"""A tiny DCGAN-style GAN on synthetic 16x16 images: a generator of transposed
convolutions (and one nearest upsampling) against a strided-convolution
discriminator, a few Adam steps each, printing both losses.

Runs unchanged on PyTorch: swap the import below for `import torch`.
"""

import ember as torch

nn, F = torch.nn, torch.nn.functional

LATENT, WIDTH, BATCH, STEPS = 16, 8, 32, 6


class Generator(nn.Module):
    """latent (N, LATENT, 1, 1) -> image (N, 1, 16, 16) in [-1, 1]."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.ConvTranspose2d(LATENT, WIDTH * 2, 4, 1, 0, bias=False),  # 4x4
            nn.BatchNorm2d(WIDTH * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(WIDTH * 2, WIDTH, 4, 2, 1, bias=False),  # 8x8
            nn.BatchNorm2d(WIDTH),
            nn.PReLU(WIDTH),
            nn.Upsample(scale_factor=2, mode="nearest"),  # 16x16
            nn.Conv2d(WIDTH, 1, 3, padding=1),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.body(z)


class Discriminator(nn.Module):
    """image (N, 1, 16, 16) -> one logit per image."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, WIDTH, 4, 2, 1),  # 8x8
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(WIDTH, WIDTH * 2, 4, 2, 1, bias=False),  # 4x4
            nn.BatchNorm2d(WIDTH * 2),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(WIDTH * 2, 1, 4, 1, 0),  # 1x1
            nn.Flatten(),
        )

    def forward(self, x):
        return self.body(x).squeeze(1)


def real_batch(n):
    """Soft diagonal stripes at random phases: easy structure to learn."""
    coords = torch.arange(16.0)
    phase = torch.rand(n, 1, 1, 1) * 6.28
    grid = coords.view(1, 1, 16, 1) + coords.view(1, 1, 1, 16)
    return torch.sin(grid * 0.8 + phase)


def main():
    torch.manual_seed(0)
    gen, disc = Generator(), Discriminator()
    print(gen)
    opt_g = torch.optim.Adam(gen.parameters(), lr=2e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(disc.parameters(), lr=2e-3, betas=(0.5, 0.999))
    ones, zeros = torch.ones(BATCH), torch.zeros(BATCH)
    for step in range(STEPS):
        fake = gen(torch.randn(BATCH, LATENT, 1, 1))
        opt_d.zero_grad()
        loss_d = F.binary_cross_entropy_with_logits(
            disc(real_batch(BATCH)), ones
        ) + F.binary_cross_entropy_with_logits(disc(fake.detach()), zeros)
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad()
        loss_g = F.binary_cross_entropy_with_logits(disc(fake), ones)
        loss_g.backward()
        opt_g.step()
        print(f"step {step}: discriminator {loss_d.item():.4f}  generator {loss_g.item():.4f}")


if __name__ == "__main__":
    main()
