"""Anomaly mode: backward names the node whose gradient holds a NaN, as torch does."""

from __future__ import annotations

import warnings

import ember
import pytest
import torch


def _nan_gradient_error(lib, make_loss):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with lib.autograd.detect_anomaly():
            x = lib.tensor([0.0, 1.0], requires_grad=True)
            try:
                make_loss(x).backward()
            except RuntimeError as error:
                return str(error)
    return None


@pytest.mark.parametrize(
    "make_loss",
    [
        lambda x: (x.sqrt() * 0).sum(),  # 0 * inf in SqrtBackward0
        lambda x: (x / x).sum(),  # 0 / 0 in DivBackward0's second output
        lambda x: x.log().sum() * 0,
        lambda x: (x * 2).sum(),  # no NaN: no error
    ],
)
def test_nan_gradient_names_the_node_like_torch(make_loss):
    assert _nan_gradient_error(ember, make_loss) == _nan_gradient_error(torch, make_loss)


def test_modes_nest_and_restore():
    assert not ember.is_anomaly_enabled()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with ember.autograd.detect_anomaly():
            assert ember.is_anomaly_enabled()
            with ember.autograd.set_detect_anomaly(False):
                assert not ember.is_anomaly_enabled()
            assert ember.is_anomaly_enabled()
        assert not ember.is_anomaly_enabled()
        with ember.autograd.detect_anomaly(check_nan=False):
            assert not ember.is_anomaly_check_nan_enabled()
            x = ember.tensor([0.0], requires_grad=True)
            (x / x).sum().backward()  # NaN checks off: no error
            assert x.grad.isnan().all()
        ember.autograd.set_detect_anomaly(True)
        assert ember.is_anomaly_enabled()
        ember.autograd.set_detect_anomaly(False)
        assert not ember.is_anomaly_enabled()


def test_detect_anomaly_warns_and_decorates():
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):

        @ember.autograd.detect_anomaly()
        def run():
            return ember.is_anomaly_enabled()

    assert run() is True
    assert not ember.is_anomaly_enabled()
