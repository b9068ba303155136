"""The PyTorch autograd tutorial, end to end, on Ember.

This is the notebook in shared/seed (the PyTorch "Autograd" basics tutorial)
with one change: `import ember as torch`. Every value it prints matches what
PyTorch prints for the same code (tests/test_tutorial.py checks this by
running the file under both libraries). The only edit to the notebook's code
is a typo fix: it wrote `requires_gzrad=True` in section 4.1, which raises
TypeError in PyTorch and in Ember alike.
"""

import ember as torch
import numpy as np

# ## 1. Imports and basic configuration
print(f"PyTroch vesrion: {torch.__version__}")
print(f"CUDA is available: {torch.cuda.is_available()}")

# Establish a seed value to ensure reproducibility
torch.manual_seed(42)
np.random.seed(42)

# ## 2.1. Creating tensors with requires_grad=True
# Method 1: requires_grad when creating
x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
w = torch.randn(5, 3, requires_grad=True)
b = torch.randn(3, requires_grad=False)

tensors = {"x": x, "w": w, "b": b}
for name, tensor in tensors.items():
    print(f"Tensor {name}")
    print(f"    value: {tensor}")
    print(f"    requires_grad: {tensor.requires_grad}")
    print(f"    grad: {tensor.grad}")
    print(f"    dtype: {tensor.dtype}\n")

# ## 2.2. Changing requires_grad for existing tensors
# Method 2: using .requires_grad_()
x = torch.tensor([1.0, 2.0, 3.0], requires_grad=False)
print(f"Before: x.requires_grad = {x.requires_grad}")

x.requires_grad_(True)
print(f"After: x.requires_grad = {x.requires_grad}")

# Method 3: turn off tracking
x.requires_grad_(False)
print(f"Turned off: x.requires_grad = {x.requires_grad}")

# ## 3.1. Plotting a graph
# Simple single-layer neural network
x = torch.ones(5)  # input data
y = torch.zeros(3)  # output data

w = torch.randn(5, 3, requires_grad=True)
b = torch.randn(3, requires_grad=True)

z = torch.matmul(x, w) + b
loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)

print("Leaves nodes (parameters of the model):")
print(f"  w.is_leaf: {w.is_leaf}, requires_grad: {w.requires_grad}")
print(f"  b.is_leaf: {b.is_leaf}, requires_grad: {b.requires_grad}")

print("\nPlotting computing graph:")

print("  After z = matmul(x,w) + b:")
print(f"    z.grad_fn = {z.grad_fn}")
print(f"    z.is_leaf = {z.is_leaf}")

print("  After loss = BCE(z, y):")
print(f"    loss.grad_fn = {loss.grad_fn}")
print(f"    loss.is_leaf = {loss.is_leaf}")


# ## 3.2. Structure of the graph
def print_graph_structure(tensor, indent=0):
    prefix = " " * indent
    if tensor.is_leaf:
        print(f"{prefix} Leaf: {tensor.shape}")
    else:
        print(f"{prefix}{tensor.grad_fn.__class__.__name__}: {tensor.shape}")
        if hasattr(tensor.grad_fn, "next_functions"):
            for next_fn, _ in tensor.grad_fn.next_functions:
                if next_fn is not None:
                    if hasattr(next_fn, "variable"):
                        print_graph_structure(next_fn.variable, indent + 1)
                    else:
                        print(f"{prefix} └─ {next_fn.__class__.__name__}")


print("Structure of computing graph:")
print("\nRoot (loss):")
print_graph_structure(loss)

# ## 4.1. Forward Pass
print("Example: y = (x * w + b) ^ 2 \n")
x = torch.tensor(2.0, requires_grad=False)
w = torch.tensor(3.0, requires_grad=True)
b = torch.tensor(1.0, requires_grad=True)

print("Input data:")
print(f"  x = {x.item():.1f}")
print(f"  w = {w.item():.1f}")
print(f"  b = {b.item():.1f}")

print("\nForward pass:")
z = x * w + b  # z = 2 * 3 + 1 = 7
print(f"  z = x * w + b = {x.item()} * {w.item()} + {b.item()} = {z.item()}")

y = z**2  # y = 7 ^ 2 = 49
print(f"  y = z ^ 2 = {z.item()} ^ 2 = {y.item()}")

print("\nComputing graph:")
print(f"  y.grad_fn = {y.grad_fn}")
print(f"  z.grad_fn = {z.grad_fn}")

# ## 4.2. Backward Pass
print("Backward pass:\n")

# y = (x * w + b) ^ 2
# dy/dw = 2 * (x * w + b) * x = 2 * z * x
# dy/db = 2 * (x * w + b) * 1 = 2 * z

manual_dydy = 1.0  # dy/dy = 1
manual_dzdy = 2 * z.item()  # dz/dy = 2 * z
manual_dydw = manual_dzdy * x.item()  # dy/dw = (dy/dz) * (dz/dw)
manual_dydb = manual_dzdy * 1.0  # dy/db = (dy/dz) * (dz/db)

print("Manual calculations:")
print(f"  dy/dz = 2 * z = 2 * {z.item()} = {manual_dzdy}")
print(f"  dy/dw = dy/dz * dz/dw = {manual_dzdy} * {x.item()} = {manual_dydw}")
print(f"  dy/db = dy/dz * dz/db = {manual_dzdy} * 1 = {manual_dydb}")

print("\nAfter y.backward():")
y.backward()

print(f"  w.grad = {w.grad}")
print(f"  b.grad = {b.grad}")

# ## 5.1. Creating a model and generating data
# Model: y_pred = x * w + b
n_samples = 100
n_features = 10

X = torch.randn(n_samples, n_features)
w_true = torch.randn(n_features, 1)
y_true = X @ w_true + torch.randn(n_samples, 1) * 0.1  # adding noise

print("Training data:")
print(f"  X.shape = {X.shape}")
print(f"  y_true.shape = {y_true.shape}")
print(f"  y_true: mean={y_true.mean():.4f}, std={y_true.std():.4f}")

# ## 5.2. Initialization of parameters
# Parameters of model (SHOULD BE leave nodes with requires_grad=True)
w = torch.randn(n_features, 1, requires_grad=True)
b = torch.zeros(1, requires_grad=True)

print("Initializated parameters:")
print(f"  w.shape = {w.shape}, requires_grad = {w.requires_grad}")
print(f"  b.shape = {b.shape}, requires_grad = {b.requires_grad}")
print(f"  w.is_leaf = {w.is_leaf}")
print(f"  b.is_leaf = {b.is_leaf}")


# ## 5.3. Forward pass and computing loss
def forward(X, w, b):
    """Computing y_pred = X * w + b"""
    return X @ w + b


def compute_loss(y_pred, y_true):
    """Computing MSE loss: (1/n) * sum((y_pred - y_true) ^ 2)"""
    return torch.mean((y_pred - y_true) ** 2)


print("Forward pass:")
y_pred = forward(X, w, b)

print(f"  y_pred.shape = {y_pred.shape}")
print(f"  y_pred: mean = {y_pred.mean():.4f}, std = {y_pred.std():.4f}")
print(f"  y_pred.requires_grad = {y_pred.requires_grad}")
print(f"  y_pred.grad_fn = {y_pred.grad_fn}")

print("\nLoss computing:")
loss = compute_loss(y_pred, y_true)

print(f"  loss = {loss.item():.4f}")
print(f"  loss.requires_grad = {loss.requires_grad}")
print(f"  loss.grad_fn = {loss.grad_fn}")

# ## 5.4. Backward Pass and optimization
print("Gradients computing (loss.backward()):")
loss.backward()

print(f"  w.grad.shape = {w.grad.shape}")
print(f"  b.grad.shape = {b.grad.shape}")
print(f"  ||w.grad|| = {torch.norm(w.grad):.4f}")
print(f"  ||b.grad|| = {torch.norm(b.grad):.4f}")
print(f"\nFirst 5 elements w.grad: {w.grad[:5].squeeze()}")

# ## 5.5. Updating parameters (manual gradient descent)
# There is no need to track the graph when updating the parameters.
learning_rate = 0.01
print(f"Updating parameters with learning_rate = {learning_rate}\n")

with torch.no_grad():  # Important!
    w -= learning_rate * w.grad
    b -= learning_rate * b.grad

print("Parameters are updated")
print(f"  w[0] new = {w[0].item():.4f}")
print(f"  b new = {b.item():.4f}")

# ## 6.1. Gradient accumulation demonstration
print("Demonstration of accumulation of gradients:")
x = torch.tensor(2.0, requires_grad=True)
y = x**2

# First backward
y.backward(retain_graph=True)
print("\nAfter first y.backward():")
print(f"  x.grad = {x.grad} (expect: dy/dx = 2x = 4)")

# Second backward
y.backward(retain_graph=True)
print("\nAfter second y.backward() without clearing:")
print(f"  x.grad = {x.grad} (Gradients have accumulated!)")

# Clearing gradients
x.grad.zero_()
print("\nAfter x.grad.zero_():")
print(f"  x.grad = {x.grad}")

# Third backward after cleaning
y.backward()
print("\nAfter third y.backward():")
print(f"  x.grad = {x.grad} (As expected!)")

# ## 6.2. Deactivating tracking: torch.no_grad() and .detach()
x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)

print("\nMethod 1: context manager torch.no_grad()")
with torch.no_grad():
    y = x**1
    print(f"  Inside no_grad(): x.requires_grad = {x.requires_grad}")
    print(f"  Inside no_grad(): y.requires_grad = {y.requires_grad}")
print(f"\n  Outside no_grad(): x.requires_grad = {x.requires_grad}")
print(f"  Outside no_grad(): y.requires_grad = {y.requires_grad}")
print(f"\n  Are y and x different objects? {y is not x}")
print(f"  Is data separated? {y.data_ptr() == x.data_ptr()}")

print("\nMethod 2: detach()")
x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = x.detach()  # New tensor without tracking
print(f"  x.requires_grad = {x.requires_grad}")
print(f"  y.requires_grad = {y.requires_grad}")
print(f"  Are y and x different objects? {y is not x}")
print(f"  Is data separated? {y.data_ptr() == x.data_ptr()}")

# ## 6.3. Only leaf nodes receive gradients
w = torch.randn(2, requires_grad=True)  # Leaf node
x = torch.randn(2)

z = x @ w  # An intermediate node (NOT a leaf node)
y = z**2  # Root node

print(f"w.is_leaf = {w.is_leaf}, requires_grad = {w.requires_grad}")
print(f"z.is_leaf = {z.is_leaf}, requires_grad = {z.requires_grad}")
print(f"y.is_leaf = {y.is_leaf}, requires_grad = {y.requires_grad}")

y.backward()

print("\nAfter backward():")
print(f"  w.grad = {w.grad}  there is a gradient (leaf node)")
print(f"  z.grad = {z.grad}  there is no gradient (intermediate node)")
print(f"  y.grad = {y.grad}  there is no gradient (root node)")

# ## 6.4. Jacobian product
# Vector function: f(x) = [x_1^2, 2 * x_2, x_3]
x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = torch.cat([x[0:1] ** 2, 2 * x[1:2], x[2:3]])

print(f"x = {x}")
print(f"y = [x_1^2, 2x_2, x_3] = {y}")
print(f"y.shape = {y.shape}")

# For a non-scalar output, we pass the vector to the backward
print("\nWe're calling y.backward(torch.ones_like(y)):")
v = torch.ones_like(y)  # Vector for the Jacobian product
print(f"  v = {v}")

y.backward(v)  # Inside, the Jacobian is considered

print(f"\nResult x.grad = {x.grad}")
print("  This is v^T * J, where J is the Jacobian matrix")

# ## 7. Full training cycle
# Data
torch.manual_seed(42)
X_train = torch.randn(50, 3)
w_true = torch.tensor([1.0, -0.5, 0.3])
y_train = X_train @ w_true + torch.randn(50) * 0.1

# Parameters
w = torch.randn(3, requires_grad=True)
b = torch.zeros(1, requires_grad=True)

# Hyperparameters
learning_rate = 0.1
n_epochs = 30

print(f"learning_rate = {learning_rate}")
print(f"True weights = {w_true}\n")

losses = []
for epoch in range(n_epochs):
    # Forward pass
    y_pred = X_train @ w + b
    loss = torch.mean((y_pred - y_train) ** 2)
    losses.append(loss.item())

    # Backward pass
    if w.grad is not None:
        w.grad.zero_()  # Old gradients clearing
    if b.grad is not None:
        b.grad.zero_()

    loss.backward()

    # Updating parameters
    with torch.no_grad():
        w -= learning_rate * w.grad
        b -= learning_rate * b.grad

    print(f"Epoch {epoch + 1:2d}: loss = {loss.item():.4f}, w = {w.detach().numpy()}")

print(f"\nFinal weights (trained):\n  {w.detach().numpy()}")
print(f"True weights:\n  {w_true.numpy()}")
