"""Training steps of real models, written once against a torch-shaped `lib`.

Each function takes the library module (`torch` or `ember`) and returns a
`step()` callable doing one full training step (forward, loss, backward,
optimizer step) on fixed, seeded data. Where a function takes `wrap`, it wraps
the model before the optimizer sees it (`ddp.py` passes DistributedDataParallel).
`model_steps.py` times them with each library in its own process, since two
libraries' thread pools in one process disturb each other.

Models whose layers Ember lacks yet are listed in PENDING with the reason.
"""

import numpy as np


def _t(lib, arr):
    return lib.tensor(arr)


def mlp(lib, wrap=None):
    """MLP 64x784-256-10, SGD: the MNIST MLP of the tutorials."""
    rng = np.random.default_rng(0)
    nn, F = lib.nn, lib.nn.functional
    lib.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    model = wrap(model) if wrap else model
    opt = lib.optim.SGD(model.parameters(), lr=0.01)
    X = _t(lib, rng.standard_normal((64, 784)).astype(np.float32))
    y = _t(lib, rng.integers(0, 10, size=64))

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(X), y)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def char_transformer(lib, wrap=None):
    """nanoGPT-shaped char transformer: 2 layers, 4 heads, width 128, block 64,
    batch 16, vocab 65, AdamW; attention written out as the tutorials do."""
    nn, F = lib.nn, lib.nn.functional
    vocab, width, heads, block, batch, layers = 65, 128, 4, 64, 16, 2
    lib.manual_seed(0)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1 = nn.LayerNorm(width)
            self.qkv = nn.Linear(width, 3 * width)
            self.proj = nn.Linear(width, width)
            self.ln2 = nn.LayerNorm(width)
            self.fc = nn.Linear(width, 4 * width)
            self.fc_out = nn.Linear(4 * width, width)
            self.register_buffer("mask", lib.tril(lib.ones(block, block)).view(1, 1, block, block))

        def forward(self, x):
            b, t, c = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(width, dim=2)
            q = q.view(b, t, heads, c // heads).transpose(1, 2)
            k = k.view(b, t, heads, c // heads).transpose(1, 2)
            v = v.view(b, t, heads, c // heads).transpose(1, 2)
            att = (q @ k.transpose(-2, -1)) * (1.0 / (c // heads) ** 0.5)
            att = att.masked_fill(self.mask[:, :, :t, :t] == 0, float("-inf"))
            att = F.softmax(att, dim=-1)
            y = (att @ v).transpose(1, 2).contiguous().view(b, t, c)
            x = x + self.proj(y)
            return x + self.fc_out(F.gelu(self.fc(self.ln2(x))))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(vocab, width)
            self.pos = nn.Embedding(block, width)
            self.blocks = nn.Sequential(*[Block() for _ in range(layers)])
            self.ln_f = nn.LayerNorm(width)
            self.head = nn.Linear(width, vocab)

        def forward(self, idx):
            x = self.tok(idx) + self.pos(lib.arange(idx.shape[1]))
            return self.head(self.ln_f(self.blocks(x)))

    model = GPT()
    model = wrap(model) if wrap else model
    opt = lib.optim.AdamW(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    idx = _t(lib, rng.integers(0, vocab, size=(batch, block)))
    tgt = _t(lib, rng.integers(0, vocab, size=(batch, block)))

    def step():
        logits = model(idx)
        loss = F.cross_entropy(logits.view(-1, vocab), tgt.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def makemore_mlp(lib):
    """makemore-style MLP: embedding 27x10, context 3, tanh hidden 200 with
    batch norm, batch 32, SGD."""
    nn, F = lib.nn, lib.nn.functional
    lib.manual_seed(0)
    model = nn.Sequential(
        nn.Embedding(27, 10),
        nn.Flatten(),
        nn.Linear(30, 200, bias=False),
        nn.BatchNorm1d(200),
        nn.Tanh(),
        nn.Linear(200, 27),
    )
    opt = lib.optim.SGD(model.parameters(), lr=0.1)
    rng = np.random.default_rng(0)
    X = _t(lib, rng.integers(0, 27, size=(32, 3)))
    y = _t(lib, rng.integers(0, 27, size=32))

    def step():
        loss = F.cross_entropy(model(X), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def mnist_cnn(lib):
    """The MNIST CNN of pytorch/examples: conv 1-32-64 3x3, max pool, dropout,
    fc 9216-128-10, batch 64, Adadelta."""
    nn, F = lib.nn, lib.nn.functional
    lib.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, 1)
            self.conv2 = nn.Conv2d(32, 64, 3, 1)
            self.fc1 = nn.Linear(9216, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = F.relu(self.fc1(lib.flatten(x, 1)))
            return F.log_softmax(self.fc2(x), dim=1)

    model = Net()
    opt = lib.optim.Adadelta(model.parameters(), lr=1.0)
    rng = np.random.default_rng(0)
    X = _t(lib, rng.standard_normal((64, 1, 28, 28)).astype(np.float32))
    y = _t(lib, rng.integers(0, 10, size=64))

    def step():
        opt.zero_grad()
        loss = F.nll_loss(model(X), y)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def lstm_lm(lib):
    """LSTM language model: vocab 1000, embedding 64, hidden 128, seq 35,
    batch 20, SGD with gradient clipping."""
    nn, F = lib.nn, lib.nn.functional
    lib.manual_seed(0)
    vocab, emb, hidden, seq, batch = 1000, 64, 128, 35, 20
    encoder, rnn, decoder = nn.Embedding(vocab, emb), nn.LSTM(emb, hidden), nn.Linear(hidden, vocab)
    params = list(encoder.parameters()) + list(rnn.parameters()) + list(decoder.parameters())
    opt = lib.optim.SGD(params, lr=1.0)
    rng = np.random.default_rng(0)
    X = _t(lib, rng.integers(0, vocab, size=(seq, batch)))
    y = _t(lib, rng.integers(0, vocab, size=(seq * batch,)))

    def step():
        opt.zero_grad()
        out, _ = rnn(encoder(X))
        loss = F.cross_entropy(decoder(out).view(-1, vocab), y)
        loss.backward()
        nn.utils.clip_grad_norm_(params, 0.25)
        opt.step()
        return loss.item()

    return step


def transformer_encoder(lib):
    """nn.TransformerEncoder language model: vocab 1000, d_model 128, 4 heads,
    2 layers, feed-forward 256, causal mask, seq 32, batch 16, Adam."""
    nn, F = lib.nn, lib.nn.functional
    lib.manual_seed(0)
    vocab, d, seq, batch = 1000, 128, 32, 16
    embed, head = nn.Embedding(vocab, d), nn.Linear(d, vocab)
    layer = nn.TransformerEncoderLayer(d, 4, 256, dropout=0.0, batch_first=True)
    encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
    params = [*embed.parameters(), *encoder.parameters(), *head.parameters()]
    opt = lib.optim.Adam(params, lr=1e-3)
    mask = nn.Transformer.generate_square_subsequent_mask(seq)
    rng = np.random.default_rng(0)
    X = _t(lib, rng.integers(0, vocab, size=(batch, seq)))
    y = _t(lib, rng.integers(0, vocab, size=(batch * seq,)))

    def step():
        opt.zero_grad()
        out = encoder(embed(X), mask=mask, is_causal=True)
        loss = F.cross_entropy(head(out).view(-1, vocab), y)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def dcgan_generator(lib):
    """The DCGAN generator of pytorch/examples (nz 100, ngf 64, 64x64 RGB images):
    four stride-2 transposed convolutions after a 1x1 -> 4x4 one, batch norm and
    ReLU between, tanh out; batch 16, MSE to fixed images, Adam."""
    nn = lib.nn
    lib.manual_seed(0)
    nz, ngf = 100, 64

    def block(cin, cout, stride, padding):
        return [
            nn.ConvTranspose2d(cin, cout, 4, stride, padding, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(True),
        ]

    model = nn.Sequential(
        *block(nz, ngf * 8, 1, 0),
        *block(ngf * 8, ngf * 4, 2, 1),
        *block(ngf * 4, ngf * 2, 2, 1),
        *block(ngf * 2, ngf, 2, 1),
        nn.ConvTranspose2d(ngf, 3, 4, 2, 1, bias=False),
        nn.Tanh(),
    )
    opt = lib.optim.Adam(model.parameters(), lr=2e-4, betas=(0.5, 0.999))
    rng = np.random.default_rng(0)
    z = _t(lib, rng.standard_normal((16, nz, 1, 1)).astype(np.float32))
    target = _t(lib, rng.uniform(-1, 1, (16, 3, 64, 64)).astype(np.float32))

    def step():
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(z), target)
        loss.backward()
        opt.step()
        return loss.item()

    return step


MODELS = {
    "MLP 64x784-256-10 SGD": mlp,
    "char transformer (nanoGPT-shaped) AdamW": char_transformer,
    "makemore MLP emb+tanh+BN": makemore_mlp,
    "MNIST CNN Adadelta": mnist_cnn,
    "DCGAN generator 64x64 batch 16 Adam": dcgan_generator,
    "LSTM LM 1000/64/128 seq 35": lstm_lm,
    "TransformerEncoder LM 1000/128x2 seq 32": transformer_encoder,
}
