"""ember.func: composable function transforms, as ``torch.func``.

``grad``, ``grad_and_value``, ``vjp`` and ``jacrev`` differentiate in reverse
mode on the ordinary tape and nest (Note [Transforms on the tape] in
``_reverse.py``); ``jvp``, ``jacfwd`` and ``hessian`` use forward-mode AD
when ``ember.autograd.forward_ad`` exists and give the same values from
reverse mode otherwise. ``vmap`` runs a function once over a whole batch
through batching rules (Note [Batching by dispatch] in ``_batched.py``).
"""

from ._forward import hessian, jacfwd, jvp
from ._module_state import functional_call, stack_module_state
from ._reverse import grad, grad_and_value, jacrev, vjp
from ._vmap import vmap

__all__ = [
    "functional_call",
    "grad",
    "grad_and_value",
    "hessian",
    "jacfwd",
    "jacrev",
    "jvp",
    "stack_module_state",
    "vjp",
    "vmap",
]
