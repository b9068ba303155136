"""nn.utils.parametrizations: weight_norm and spectral_norm as parametrizations
(nn.utils.parametrize), with torch's originals, buffers and power iterations."""

from .._grad_mode import no_grad
from . import parametrize
from .modules import Module
from .reparametrized_weights import _norm_except, _unit


class _WeightNorm(Module):
    """weight = g * v / ||v||, g one magnitude per slice along dim (all of v for None)."""

    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def _norm_dim(self):
        return None if self.dim == -1 else self.dim

    def forward(self, weight_g, weight_v):
        return weight_v * (weight_g / _norm_except(weight_v, self._norm_dim()))

    def right_inverse(self, weight):
        return _norm_except(weight, self._norm_dim()), weight


def weight_norm(module, name="weight", dim=0):
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


class _SpectralNorm(Module):
    """weight / sigma, sigma the largest singular value estimated by power iterations
    on the buffers _u and _v (15 at registration, n_power_iterations per training read)."""

    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.dim()
        if dim >= ndim or dim < -ndim:
            raise IndexError(
                f"Dimension out of range (expected to be in range of [-{ndim}, {ndim - 1}] "
                f"but got {dim})"
            )
        if n_power_iterations <= 0:
            raise ValueError(
                "Expected n_power_iterations to be positive, but got "
                f"n_power_iterations={n_power_iterations}"
            )
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            matrix = self._as_matrix(weight)
            rows, cols = matrix.shape
            with no_grad():
                self.register_buffer("_u", _unit(matrix.new_empty(rows).normal_(0, 1), eps))
                self.register_buffer("_v", _unit(matrix.new_empty(cols).normal_(0, 1), eps))
            self._power_method(matrix, 15)

    def _as_matrix(self, weight):
        if self.dim != 0:
            weight = weight.permute(self.dim, *(d for d in range(weight.dim()) if d != self.dim))
        return weight.flatten(1)

    def _power_method(self, matrix, iterations):
        with no_grad():
            for _ in range(iterations):
                self._u.copy_(_unit(matrix.mv(self._v), self.eps))
                self._v.copy_(_unit(matrix.t().mv(self._u), self.eps))

    def forward(self, weight):
        if weight.dim() == 1:
            return _unit(weight, self.eps)
        matrix = self._as_matrix(weight)
        if self.training:
            self._power_method(matrix, self.n_power_iterations)
        sigma = self._u.clone().dot(matrix.mv(self._v.clone()))
        return weight / sigma

    def right_inverse(self, value):
        return value


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    weight = getattr(module, name, None)
    if weight is None:
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = 1 if type(module).__name__.startswith("ConvTranspose") else 0
    parametrize.register_parametrization(
        module, name, _SpectralNorm(weight, n_power_iterations, dim, eps)
    )
    return module
