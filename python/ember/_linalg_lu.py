"""torch.linalg's LU family and householder_product.

LAPACK's getrf and orgqr compute the values (`_C._linalg._lu_factor_raw`,
`_householder_product_raw`); each op is a Function carrying torch's node name,
whose backward is written with differentiable ops (triangular solves and
products), so create_graph works through it.
"""

import numpy as np

from . import _C
from . import _return_types as return_types
from ._dtype_info import TYPE_NAMES
from ._stacking import broadcast_shapes
from .autograd.function import Function

_L = _C._linalg
_FLOATING = (_C.float32, _C.float64)


def _solve_tri(A, B, *, upper, left=True, unitriangular=False):
    return _L.solve_triangular(A, B, upper, left, unitriangular)


def _check_lu_input(A, fn, kernel="lu_cpu"):
    if A.dim() < 2:
        raise RuntimeError(
            f"{fn}: Expected tensor with 2 or more dimensions. Got size: {list(A.shape)} instead"
        )
    if A.dtype not in _FLOATING:
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{TYPE_NAMES[A.dtype]}'")


def _check_pivot(pivot, fn="linalg.lu_factor"):
    if not pivot:
        raise RuntimeError(f"{fn}: LU without pivoting is not implemented on the CPU")


def _permutation(pivots, m, dtype):
    """P (..., m, m) with A = P L U, from getrf's 1-based row swaps (..., k)."""
    swaps = pivots.numpy().astype(np.int64) - 1
    batch = swaps.shape[:-1]
    flat = swaps.reshape(int(np.prod(batch)), swaps.shape[-1])
    eye = np.eye(m)
    perms = np.empty((flat.shape[0], m, m))
    for b, row_swaps in enumerate(flat):
        order = np.arange(m)
        for i, j in enumerate(row_swaps):
            order[i], order[j] = order[j], order[i]
        perms[b] = eye[order].T  # row i of P^T A is row order[i] of A
    return _C.tensor(perms.reshape(*batch, m, m), dtype=dtype)


def _unpack(LU, m, n):
    """The unit lower L (m, k) and upper U (k, n) packed in LU."""
    k = min(m, n)
    L = LU[..., :, :k].tril(-1) + _C.eye(m, k, dtype=LU.dtype)
    return L, LU[..., :k, :].triu()


def _lu_backward(P, L, U, gL, gU):
    """gA for A = P L U. With X = L^-1 P^T dA U^-1 on the leading k x k block,
    dL = L tril(X, -1) and dU = triu(X) U; a wide U's extra columns U2 and a
    tall L's extra rows L2 each follow one triangular solve and feed back into
    the square part (the -gU2 U2^H and -L2^H gL2 terms)."""
    m, n = L.shape[-2], U.shape[-1]
    k = min(m, n)
    L1, U1 = L[..., :k, :], U[..., :, :k]
    lower = L1.mT @ gL[..., :k, :]
    upper = gU[..., :, :k] @ U1.mT
    if n > k:
        lower = lower - gU[..., :, k:] @ U[..., :, k:].mT
    if m > k:
        upper = upper - L[..., k:, :].mT @ gL[..., k:, :]
    inner = lower.tril(-1) + upper.triu()
    gA = _solve_tri(L1.mT, inner, upper=True, unitriangular=True)
    gA = _solve_tri(U1.mT, gA, upper=False, left=False)
    if n > k:
        right = _solve_tri(L1.mT, gU[..., :, k:], upper=True, unitriangular=True)
        gA = _C.cat([gA, right], -1)
    if m > k:
        gA = _C.cat([gA, _solve_tri(U1.mT, gL[..., k:, :], upper=False, left=False)], -2)
    return P @ gA


def _raise_on_failure(info, fn):
    failed = info.reshape(-1).numpy()
    batched = info.dim() > 0
    for b, code in enumerate(failed):
        if code > 0:
            where = f"(Batch element {b}): " if batched else ""
            raise RuntimeError(  # torch's is not a LinAlgError here
                f"{fn}: {where}U[{code},{code}] is zero and using it on lu_solve would result "
                "in a division by zero. If you still want to perform the factorization, "
                "consider calling linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)"
            )


class _LuFactorEx(Function):
    _node_name = "LinalgLuFactorExBackward0"

    @staticmethod
    def forward(ctx, A):
        LU, pivots, info = _L._lu_factor_raw(A)
        ctx.mark_non_differentiable(pivots, info)
        ctx.save_for_backward(LU, pivots)
        return LU, pivots, info

    @staticmethod
    def backward(ctx, gLU, _gpivots, _ginfo):
        LU, pivots = ctx.saved_tensors
        m, n = LU.shape[-2], LU.shape[-1]
        L, U = _unpack(LU, m, n)
        k = min(m, n)
        gL = gLU[..., :, :k].tril(-1)
        gU = gLU[..., :k, :].triu()
        return _lu_backward(_permutation(pivots, m, LU.dtype), L, U, gL, gU)


def lu_factor_ex(A, *, pivot=True, check_errors=False):
    _check_lu_input(A, "torch.linalg.lu_factor_ex")
    _check_pivot(pivot)
    LU, pivots, info = _LuFactorEx.apply(A)
    if check_errors:
        _raise_on_failure(info, "torch.linalg.lu_factor_ex")
    return return_types.linalg_lu_factor_ex(LU, pivots, info)


def lu_factor(A, *, pivot=True):
    _check_lu_input(A, "torch.lu_factor")
    _check_pivot(pivot)
    LU, pivots, info = _LuFactorEx.apply(A)
    _raise_on_failure(info, "torch.linalg.lu_factor")
    return return_types.linalg_lu_factor(LU, pivots)


class _Lu(Function):
    _node_name = "LinalgLuBackward0"

    @staticmethod
    def forward(ctx, A):
        LU, pivots, _ = _L._lu_factor_raw(A)
        m, n = A.shape[-2], A.shape[-1]
        P = _permutation(pivots, m, A.dtype)
        L, U = (t.contiguous() for t in _unpack(LU, m, n))
        ctx.mark_non_differentiable(P)
        ctx.save_for_backward(P, L, U)  # outputs: connected under create_graph
        return P, L, U

    @staticmethod
    def backward(ctx, _gP, gL, gU):
        P, L, U = ctx.saved_tensors
        return _lu_backward(P, L, U, gL, gU)


def lu(A, *, pivot=True):
    _check_lu_input(A, "linalg.lu")
    _check_pivot(pivot)
    return return_types.linalg_lu(*_Lu.apply(A))


def _pad(t, rows, cols):
    """t with `rows` zero rows and `cols` zero columns appended."""
    if cols:
        t = _C.cat([t, _C.zeros((*t.shape[:-1], cols), dtype=t.dtype)], -1)
    if rows:
        t = _C.cat([t, _C.zeros((*t.shape[:-2], rows, t.shape[-1]), dtype=t.dtype)], -2)
    return t


class _LuUnpack(Function):
    _node_name = "LuUnpackBackward0"

    @staticmethod
    def forward(ctx, LU):
        m, n = LU.shape[-2], LU.shape[-1]
        L, U = _unpack(LU, m, n)
        return L.contiguous(), U.contiguous()

    @staticmethod
    def backward(ctx, gL, gU):
        m, n = gL.shape[-2], gU.shape[-1]
        k = min(m, n)
        return _pad(gL.tril(-1), 0, n - k) + _pad(gU.triu(), m - k, 0)


def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True):  # noqa: N803
    if LU_data.dim() < 2:
        raise RuntimeError(
            "torch.lu_unpack: Expected tensor with 2 or more dimensions. "
            f"Got size: {list(LU_data.shape)} instead"
        )
    if LU_pivots.dtype != _C.int32:
        raise RuntimeError(
            "torch.lu_unpack: LU_pivots is expected to be a contiguous tensor of torch.int32 "
            "dtype.\nNote: this function is intended to be used with the output produced by "
            "torch.linalg.lu_factor"
        )
    m = LU_data.shape[-2]
    empty = _C.empty(0, dtype=LU_data.dtype)
    P = _permutation(LU_pivots, m, LU_data.dtype) if unpack_pivots else empty
    if not unpack_data:
        return return_types.lu_unpack(P, empty, empty)
    L, U = _LuUnpack.apply(LU_data)
    return return_types.lu_unpack(P, L, U)


def _check_lu_solve(LU, pivots, B, left):
    fn = "linalg.lu_solve"
    if B.dim() < 2:
        raise RuntimeError(f"{fn}: The input tensor B must have at least 2 dimensions.")
    if LU.dim() < 2:
        raise RuntimeError(f"{fn}: The input tensor LU must have at least 2 dimensions.")
    if LU.shape[-1] != LU.shape[-2]:
        raise RuntimeError(
            f"torch.{fn}: A must be batches of square matrices, but they are "
            f"{LU.shape[-2]} by {LU.shape[-1]} matrices"
        )
    n = LU.shape[-1]
    if (B.shape[-2] if left else B.shape[-1]) != n:
        a, b = f"{n}x{n}", f"{B.shape[-2]}x{B.shape[-1]}"
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(
            f"{fn}: Incompatible shapes of A and B for the equation {eq} ({a} and {b})"
        )
    if pivots.dtype != _C.int32:
        raise RuntimeError(f"{fn}: pivots should be a Tensor of scalar type torch.int32")
    if pivots.dim() < 1 or pivots.shape[-1] != n:
        raise RuntimeError(
            f"{fn}: Number of pivots per batch should be same as the dimension of the matrix"
        )
    if LU.dtype != B.dtype:
        raise RuntimeError(
            f"{fn}: Expected LU and B to have the same dtype, but found LU of type "
            f"{TYPE_NAMES[LU.dtype]} and B of type {TYPE_NAMES[B.dtype]} instead"
        )


def _apply_lu(P, L, U, B, left, adjoint):
    """op(A)^-1 B (left) or B op(A)^-1 for A = P L U, op the conjugate transpose
    when adjoint."""
    if left and not adjoint:  # U^-1 L^-1 P^T B
        Y = _solve_tri(L, P.mT @ B, upper=False, unitriangular=True)
        return _solve_tri(U, Y, upper=True)
    if left:  # P L^-H U^-H B
        Y = _solve_tri(U.mT, B, upper=False)
        return P @ _solve_tri(L.mT, Y, upper=True, unitriangular=True)
    if not adjoint:  # B U^-1 L^-1 P^T
        Y = _solve_tri(U, B, upper=True, left=False)
        return _solve_tri(L, Y, upper=False, left=False, unitriangular=True) @ P.mT
    Y = _solve_tri(L.mT, B @ P, upper=True, left=False, unitriangular=True)  # B P L^-H U^-H
    return _solve_tri(U.mT, Y, upper=False, left=False)


class _LuSolve(Function):
    _node_name = "LinalgLuSolveBackward0"

    @staticmethod
    def forward(ctx, LU, pivots, B, left, adjoint):
        X = _apply_lu(*_factors(LU, pivots), B, left, adjoint)
        ctx.left, ctx.adjoint = left, adjoint
        ctx.save_for_backward(LU, pivots, X)
        return X

    @staticmethod
    def backward(ctx, gX):
        # the factors are unpacked again from the saved LU, so that under
        # create_graph the gradients stay connected to it
        LU, pivots, X = ctx.saved_tensors
        P, L, U = _factors(LU, pivots)
        left, adjoint = ctx.left, ctx.adjoint
        gB = _apply_lu(P, L, U, gX, left, not adjoint)
        if not ctx.needs_input_grad[0]:
            return None, None, gB, None, None
        g_op = -(gB @ X.mT) if left else -(X.mT @ gB)  # gradient w.r.t. op(A)
        gA = g_op.mT if adjoint else g_op
        # A = P L U: gL = P^T gA U^H below the diagonal, gU = L^H P^T gA on and above
        permuted = P.mT @ gA
        gLU = (permuted @ U.mT).tril(-1) + (L.mT @ permuted).triu()
        return gLU, None, gB, None, None


def _factors(LU, pivots):
    n = LU.shape[-1]
    return (_permutation(pivots, n, LU.dtype), *_unpack(LU, n, n))


def lu_solve(LU, pivots, B, *, left=True, adjoint=False):  # noqa: N803
    _check_lu_solve(LU, pivots, B, left)
    batch = broadcast_shapes(tuple(LU.shape[:-2]), tuple(B.shape[:-2]), tuple(pivots.shape[:-1]))
    LU = LU.expand(*batch, *LU.shape[-2:])
    pivots = pivots.expand(*batch, pivots.shape[-1])
    B = B.expand(*batch, *B.shape[-2:])
    return _LuSolve.apply(LU, pivots, B, left, adjoint)


def _check_householder(A, tau):
    fn = "torch.linalg.householder_product"
    if A.dim() < 2:
        raise RuntimeError(f"{fn}: input must have at least 2 dimensions.")
    if A.shape[-2] < A.shape[-1]:
        raise RuntimeError(
            f"{fn}: input.shape[-2] must be greater than or equal to input.shape[-1]"
        )
    if A.shape[-1] < tau.shape[-1] if tau.dim() else False:
        raise RuntimeError(f"{fn}: input.shape[-1] must be greater than or equal to tau.shape[-1]")
    if A.dim() - tau.dim() != 1:
        raise RuntimeError(
            f"{fn}: Expected tau to have one dimension less than input, but got tau.ndim equal "
            f"to {tau.dim()} and input.ndim is equal to {A.dim()}"
        )
    if tuple(tau.shape[:-1]) != tuple(A.shape[:-2]):
        raise RuntimeError(
            f"{fn}: Expected batch dimensions of tau to be equal to input.shape[:-2], but got "
            f"{list(tau.shape[:-1])}"
        )
    if tau.dtype != A.dtype:
        raise RuntimeError(
            f"{fn}: tau dtype {TYPE_NAMES[tau.dtype]} does not match input dtype "
            f"{TYPE_NAMES[A.dtype]}"
        )
    if A.dtype not in _FLOATING:
        raise NotImplementedError(
            f"\"householder_product_cpu\" not implemented for '{TYPE_NAMES[A.dtype]}'"
        )


def _reflector_product(A, tau):
    """H_1 ... H_k I[:, :n] with H_i = I - tau_i v_i v_i^H, composed from
    differentiable ops: the graph the backward differentiates."""
    m, n = A.shape[-2], A.shape[-1]
    below = A.tril(-1) + _C.eye(m, n, dtype=A.dtype)  # v_i in column i
    Q = _C.eye(m, n, dtype=A.dtype).expand(*A.shape).contiguous()
    for i in reversed(range(tau.shape[-1])):
        v = below[..., :, i : i + 1]
        Q = Q - tau[..., i, None, None] * (v @ (v.mT @ Q))
    return Q


class _HouseholderProduct(Function):
    _node_name = "LinalgHouseholderProductBackward0"

    @staticmethod
    def forward(ctx, A, tau):
        ctx.save_for_backward(A, tau)
        return _L._householder_product_raw(A, tau)

    @staticmethod
    def backward(ctx, gQ):
        from .autograd import enable_grad, grad

        A, tau = ctx.saved_tensors
        if tau.shape[-1] == 0 or A.numel() == 0:  # no reflectors: Q is constant
            return _C.zeros_like(A), _C.zeros_like(tau)
        create_graph = _C.is_grad_enabled()
        # Under create_graph the saved inputs keep their graphs, so the
        # gradients come out differentiable; otherwise fresh leaves suffice.
        inputs = [
            t if create_graph and t.requires_grad else t.detach().requires_grad_()
            for t in ctx.saved_tensors
        ]
        with enable_grad():
            Q = _reflector_product(*inputs)
        return grad(Q, inputs, gQ, create_graph=create_graph)


def householder_product(A, tau):
    _check_householder(A, tau)
    return _HouseholderProduct.apply(A, tau)
