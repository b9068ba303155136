"""torch.onnx's entry points, so scripts that import it run. Ember has no ONNX
exporter: export refuses with a clear error instead of writing a file that
would not load."""

__all__ = ["export", "is_in_onnx_export"]


def export(model, args=(), f=None, *positional, **keywords):
    raise NotImplementedError(
        "ember.onnx.export is not supported: Ember has no ONNX exporter. Save the "
        "weights with ember.save(model.state_dict(), path) and export from torch."
    )


def is_in_onnx_export():
    return False
