"""A small image classifier as training scripts write it: argparse options,
an accelerator check, Conv2d/max-pool/dropout, Adadelta with a StepLR
schedule, train and test loops over DataLoaders, state_dict saving."""

import argparse
import os
import tempfile

import torch
import torch.nn.functional as F
from torch import nn, optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3), nn.ReLU(), nn.Conv2d(8, 16, 3), nn.ReLU(), nn.MaxPool2d(2)
        )
        self.drop_conv, self.drop_fc = nn.Dropout(0.25), nn.Dropout(0.5)
        self.fc1, self.fc2 = nn.Linear(16 * 12 * 12, 64), nn.Linear(64, 10)

    def forward(self, x):
        x = torch.flatten(self.drop_conv(self.features(x)), 1)
        return F.log_softmax(self.fc2(self.drop_fc(F.relu(self.fc1(x)))), dim=1)


def run_epoch(model, device, loader, optimizer, epoch):
    model.train()
    for index, (images, labels) in enumerate(loader):
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = F.nll_loss(model(images), labels)
        loss.backward()
        optimizer.step()
        done = index * len(images)
        print(f"epoch {epoch} [{done}/{len(loader.dataset)}] loss {loss.item():.6f}")


def evaluate(model, device, loader):
    model.eval()
    total, correct = 0.0, 0
    with torch.no_grad():
        for images, labels in loader:
            output = model(images.to(device))
            total += F.nll_loss(output, labels.to(device), reduction="sum").item()
            correct += output.argmax(dim=1, keepdim=True).eq(labels.view(-1, 1)).sum().item()
    print(f"test loss {total / len(loader.dataset):.6f} correct {correct}/{len(loader.dataset)}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=0.5)
    args = parser.parse_args([])
    device = torch.accelerator.current_accelerator() if torch.accelerator.is_available() else None
    device = device or torch.device("cpu")
    torch.manual_seed(1)
    generator = torch.Generator().manual_seed(0)
    images = (torch.rand(112, 1, 28, 28, generator=generator) - 0.1307) / 0.3081
    labels = torch.randint(0, 10, (112,), generator=generator)
    train_loader = DataLoader(TensorDataset(images[:96], labels[:96]), batch_size=32, shuffle=True)
    test_loader = DataLoader(TensorDataset(images[96:], labels[96:]), batch_size=8)
    model = Classifier().to(device)
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    for epoch in range(1, args.epochs + 1):
        run_epoch(model, device, train_loader, optimizer, epoch)
        evaluate(model, device, test_loader)
        scheduler.step()
        print(f"lr now {scheduler.get_last_lr()[0]:.4f}")
    torch.save(model.state_dict(), os.path.join(tempfile.mkdtemp(), "classifier.pt"))


if __name__ == "__main__":
    main()
