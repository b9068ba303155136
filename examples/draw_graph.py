"""Draw the autograd graph of a small network's loss, as torchviz does for torch.

python examples/draw_graph.py            # prints the tree and the DOT source
python examples/draw_graph.py graph.svg  # also renders it (needs `pip install graphviz`
                                         # and Graphviz's `dot` program)
"""

import sys

import ember as torch
import ember.viz

torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
x = torch.randn(8, 3)
target = torch.randn(8, 1)
loss = torch.nn.functional.mse_loss(model(x), target)

params = dict(model.named_parameters())
ember.viz.print_graph(loss, params=params)
print()
print(ember.viz.to_dot(loss, params=params))

if len(sys.argv) > 1:
    print("wrote", ember.viz.draw(loss, sys.argv[1], params=params))
