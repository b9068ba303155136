"""torch.normal's four forms, drawing torch's streams: a standard normal draw scaled
by std and shifted by mean, in the order torch's kernel applies them."""

from . import _C
from ._grad_mode import no_grad
from ._stacking import broadcast_shapes

_FORMS = """normal() received an invalid combination of arguments - got ({got}), but expected one of:
 * (Tensor mean, Tensor std, *, torch.Generator generator = None, Tensor out = None)
 * (Tensor mean, float std = 1, *, torch.Generator generator = None, Tensor out = None)
 * (float mean, Tensor std, *, torch.Generator generator = None, Tensor out = None)
 * (float mean, float std, tuple of ints size, *, torch.Generator generator = None, Tensor out = None, torch.dtype dtype = None, torch.layout layout = None, torch.device device = None, bool pin_memory = False, bool requires_grad = False)
"""  # noqa: E501 - torch's message, line for line


def _check_std(std):
    if isinstance(std, _C.Tensor):
        if std.numel() and not bool((std >= 0).all()):
            raise RuntimeError("normal expects all elements of std >= 0.0")
    elif not std >= 0.0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")


@no_grad()
def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, requires_grad=False, **kw):
    """Samples of N(mean, std**2), elementwise over broadcast tensor arguments, or of
    one mean and std over `size`. The result is not differentiable."""
    mean_t, std_t = isinstance(mean, _C.Tensor), isinstance(std, _C.Tensor)
    _check_std(std)
    if not mean_t and not std_t:
        if size is None:
            got = ", ".join(type(a).__name__ for a in (mean, std))
            raise TypeError(_FORMS.format(got=got))
        out = _C.empty(tuple(size), dtype=dtype, device=kw.get("device"))
        out.normal_(float(mean), float(std), generator=generator)
        return out.requires_grad_(requires_grad)
    if mean_t and not std_t:
        out = _C.empty_like(mean)
        out.normal_(0.0, float(std), generator=generator)
        return out.add_(mean)
    like = std if not mean_t else mean
    shape = tuple(std.shape) if not mean_t else broadcast_shapes(mean.shape, std.shape)
    out = _C.empty(shape, dtype=like.dtype)
    out.normal_(0.0, 1.0, generator=generator)
    return out.mul_(std).add_(mean)


def new(self, *args):
    """Tensor.new, the legacy constructor: new(sizes...) is uninitialised with self's
    dtype, new(data) a tensor of that data, new() an empty tensor."""
    if not args:
        return _C.empty((0,), dtype=self.dtype)
    if len(args) == 1 and isinstance(args[0], _C.Tensor):
        return args[0].detach().to(self.dtype)
    if all(isinstance(a, int) for a in args):
        return _C.empty(args, dtype=self.dtype)
    if len(args) == 1 and type(args[0]).__name__ == "Size":
        return _C.empty(tuple(args[0]), dtype=self.dtype)
    return _C.tensor(args[0], dtype=self.dtype)
