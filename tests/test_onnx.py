"""ember.onnx: scripts that import torch.onnx run; exporting refuses clearly."""

import ember
import ember.onnx
import pytest


def test_export_refuses_with_a_clear_error():
    model = ember.nn.Linear(2, 1)
    with pytest.raises(NotImplementedError, match="no ONNX exporter"):
        ember.onnx.export(model, (ember.ones(1, 2),), "model.onnx")


def test_not_in_an_export():
    assert ember.onnx.is_in_onnx_export() is False
