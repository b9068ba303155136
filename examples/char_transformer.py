"""A small character-level transformer learns to write a made-up language.

    python examples/char_transformer.py [--plot loss.png]

The text is generated here: sentences from a tiny grammar ("the red fox sees a
small bird."). A two-layer causal transformer (nn.TransformerEncoderLayer with a
causal mask) predicts each next character; after training it writes a line by
sampling with torch.multinomial from a seeded generator. It trains in float64:
attention and AdamW amplify float32's last-bit differences between the two
libraries' kernels over a hundred steps; in float64 Ember and PyTorch print
the same losses.
"""

import ember as torch
import numpy as np
from training import parse_args, progress, save_plot

nn, F = torch.nn, torch.nn.functional


def grammar_text(sentences, seed):
    rng = np.random.default_rng(seed)
    words = {
        "det": ["the", "a"],
        "adj": ["red", "small", "quick", "old", "green"],
        "noun": ["fox", "bird", "cat", "tree", "river"],
        "verb": ["sees", "likes", "follows", "hears"],
    }

    def pick(kind):
        return words[kind][rng.integers(len(words[kind]))]

    parts = []
    for _ in range(sentences):
        subject = f"{pick('det')} {pick('adj')} {pick('noun')}"
        parts.append(f"{subject} {pick('verb')} {pick('det')} {pick('noun')}.")
    return " ".join(parts)


class CharTransformer(nn.Module):
    def __init__(self, vocab, width=64, heads=4, layers=2, block=48):
        super().__init__()
        self.tokens = nn.Embedding(vocab, width)
        self.positions = nn.Embedding(block, width)
        layer = nn.TransformerEncoderLayer(
            width, heads, dim_feedforward=4 * width, dropout=0.0, batch_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(width, vocab)

    def forward(self, idx):
        t = idx.shape[1]
        x = self.tokens(idx) + self.positions(torch.arange(t))
        causal = nn.Transformer.generate_square_subsequent_mask(t)
        return self.head(self.encoder(x, mask=causal, is_causal=True))


def main():
    args = parse_args(__doc__.splitlines()[0])
    torch.manual_seed(0)
    torch.set_default_dtype(torch.float64)
    text = grammar_text(400, seed=0)
    chars = sorted(set(text))
    encode = {c: i for i, c in enumerate(chars)}
    data = np.array([encode[c] for c in text], np.int64)
    block, batch, steps = 48, 32, 120
    model = CharTransformer(len(chars), block=block)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    order, losses = np.random.default_rng(1), []
    for step in range(steps):
        starts = order.integers(0, len(data) - block - 1, batch)
        x = torch.from_numpy(np.stack([data[s : s + block] for s in starts]))
        y = torch.from_numpy(np.stack([data[s + 1 : s + block + 1] for s in starts]))
        opt.zero_grad()
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, len(chars)), y.reshape(-1))
        loss.backward()
        opt.step()
        losses.append(loss.item())
        progress(step + 1, steps, loss.item())
        if (step + 1) % 20 == 0:
            print(f"step {step + 1} loss {loss.item():.6f}")
    save_plot(losses, args.plot, "char transformer loss")
    model.eval()
    generator = torch.Generator().manual_seed(0)
    idx = torch.tensor([[encode["t"]]])
    with torch.no_grad():
        for _ in range(60):
            probs = F.softmax(model(idx[:, -block:])[0, -1], dim=-1)
            idx = torch.cat([idx, torch.multinomial(probs, 1, generator=generator)[None]], 1)
    print("sample:", "".join(chars[i] for i in idx[0].tolist()))


if __name__ == "__main__":
    main()
