"""Named results of reductions that return values and indices, like torch.return_types."""

from collections import namedtuple


def _result(name):
    base = namedtuple(name, ["values", "indices"])

    def __repr__(self):
        # torch's layout: one field per line after the qualified name.
        fields = ",\n".join(f"{f}={v!r}" for f, v in zip(self._fields, self))
        return f"ember.return_types.{name}(\n{fields})"

    return type(name, (base,), {"__slots__": (), "__repr__": __repr__, "__module__": __name__})


max = _result("max")  # noqa: A001
min = _result("min")  # noqa: A001
sort = _result("sort")
topk = _result("topk")
median = _result("median")
