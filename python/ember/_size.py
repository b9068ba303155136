"""ember.Size: the tuple subclass that Tensor.shape returns."""


class Size(tuple):
    __slots__ = ()

    def __repr__(self):
        return f"ember.Size({list(self)})"

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n
