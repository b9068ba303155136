"""Word-level language models on a tiny corpus: LSTM, GRU and Elman RNNs with
tied embeddings, and a causal nn.Transformer encoder. Hand-written SGD after
gradient clipping, hidden states detached between chunks, and whole models
saved and loaded with torch.save / torch.load."""

import math
import os
import sys
import tempfile

import torch
import torch.nn.functional as F
import torch.onnx  # noqa: F401 - imported by scripts that offer an export
from torch import nn

CORPUS = "a fox saw the owl and the owl saw a fox near the old mill by the river " * 30


def as_columns(ids, columns):
    rows = ids.size(0) // columns
    return ids.narrow(0, 0, rows * columns).view(columns, -1).t().contiguous()


class RecurrentLM(nn.Module):
    def __init__(self, cell, vocab, width=24, layers=2, dropout=0.2):
        super().__init__()
        self.cell, self.width, self.layers = cell, width, layers
        self.drop = nn.Dropout(dropout)
        self.embed = nn.Embedding(vocab, width)
        self.rnn = getattr(nn, cell)(width, width, layers, dropout=dropout)
        self.head = nn.Linear(width, vocab)
        self.head.weight = self.embed.weight  # tied
        nn.init.uniform_(self.embed.weight, -0.1, 0.1)
        nn.init.zeros_(self.head.bias)

    def initial_state(self, batch):
        like = next(self.parameters())
        zeros = like.new_zeros(self.layers, batch, self.width)
        return (zeros, zeros.clone()) if self.cell == "LSTM" else zeros

    def forward(self, tokens, state):
        out, state = self.rnn(self.drop(self.embed(tokens)), state)
        logits = self.head(self.drop(out))
        return F.log_softmax(logits.view(-1, logits.size(-1)), dim=1), state


class PositionCode(nn.Module):
    def __init__(self, width, length=256):
        super().__init__()
        position = torch.arange(length, dtype=torch.float).unsqueeze(1)
        rate = torch.exp(torch.arange(0, width, 2).float() * (-math.log(10000.0) / width))
        table = torch.zeros(length, 1, width)
        table[:, 0, 0::2] = torch.sin(position * rate)
        table[:, 0, 1::2] = torch.cos(position * rate)
        self.register_buffer("table", table)

    def forward(self, x):
        return x + self.table[: x.size(0)]


class TransformerLM(nn.Transformer):
    def __init__(self, vocab, width=24, heads=2, hidden=48, layers=2):
        super().__init__(width, heads, layers, dim_feedforward=hidden, dropout=0.2)
        self.embed, self.position = nn.Embedding(vocab, width), PositionCode(width)
        self.head = nn.Linear(width, vocab)
        self.width = width

    def forward(self, tokens):
        mask = torch.log(torch.tril(torch.ones(len(tokens), len(tokens))))
        x = self.position(self.embed(tokens) * math.sqrt(self.width))
        return F.log_softmax(self.head(self.encoder(x, mask=mask)), dim=-1)


def detached(state):
    return state.detach() if isinstance(state, torch.Tensor) else tuple(s.detach() for s in state)


def train(kind, data, vocab):
    torch.manual_seed(11)
    model = TransformerLM(vocab) if kind == "Transformer" else RecurrentLM(kind, vocab)
    loss_fn = nn.NLLLoss()
    for epoch in range(2):
        model.train()
        state = None if kind == "Transformer" else model.initial_state(data.size(1))
        losses = []
        for start in range(0, data.size(0) - 1, 10):
            inputs = data[start : start + 10]
            targets = data[start + 1 : start + 1 + len(inputs)].reshape(-1)
            inputs = inputs[: targets.numel() // data.size(1)]
            model.zero_grad()
            if state is None:
                log_probs = model(inputs).view(-1, vocab)
            else:
                log_probs, state = model(inputs, detached(state))
            loss = loss_fn(log_probs, targets)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 0.5)
            for p in model.parameters():
                if p.grad is not None:  # nn.Transformer's decoder goes unused
                    p.data.add_(p.grad, alpha=-1.0)
            losses.append(loss.item())
        mean = sum(losses) / len(losses)
        print(f"{kind} epoch {epoch}: loss {mean:.6f} perplexity {math.exp(mean):.5f}")
    return model


def main():
    words = CORPUS.split()
    vocab = {w: i for i, w in enumerate(sorted(set(words)))}
    data = as_columns(torch.tensor([vocab[w] for w in words]), 6)
    folder = tempfile.mkdtemp()
    for kind in ["LSTM", "GRU", "RNN", "Transformer"]:
        model = train(kind, data, len(vocab))
        path = os.path.join(folder, f"{kind}.pt")
        torch.save(model, path)
        again = torch.load(path, weights_only=False)
        same = all(torch.equal(a, b) for a, b in zip(model.parameters(), again.parameters()))
        print(kind, "reloaded as", type(again).__name__, "same weights:", same)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
