"""The shims for private torch operations: the fallbacks give the fast paths' results."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from skglai import GLAIClassifier, _fixes, _structure


def test_relu_backward_fallback_matches_the_aten_kernel():
    gen = torch.Generator().manual_seed(0)
    grad = torch.randn(6, 5, generator=gen, dtype=torch.float64)
    output = torch.relu(torch.randn(6, 5, generator=gen, dtype=torch.float64))
    output[0, 0] = 0.0  # the kink counts as off
    expected = grad * (output > 0)
    if _fixes.HAS_THRESHOLD_BACKWARD:
        torch.testing.assert_close(_fixes.relu_backward(grad, output, fast=True), expected)
    fallback = _fixes.relu_backward(grad, output, fast=False)
    torch.testing.assert_close(fallback, expected, rtol=0, atol=0)
    assert fallback[0, 0] == 0


def test_adam_fallback_matches_the_fused_kernel():
    if not _fixes.has_fused_adam("cpu"):
        pytest.skip("this torch has no fused Adam kernel for the CPU")
    gen = torch.Generator().manual_seed(1)
    start = torch.randn(20, generator=gen)
    states = [[start.clone(), torch.zeros(20), torch.zeros(20)] for _ in range(2)]
    step = torch.zeros(())
    for n in range(1, 6):
        grad = torch.randn(20, generator=gen)
        step.fill_(n)
        (values, m, v), (values2, m2, v2) = states
        _fixes.fused_adam_step(values, grad.clone(), m, v, step, 1e-2, 0.9, 0.999, 1e-8)
        _fixes.adam_step(values2, grad.clone(), m2, v2, n, 1e-2, 0.9, 0.999, 1e-8)
    for fused, plain in zip(*states):
        torch.testing.assert_close(fused, plain)


def test_adam_step_argument_order():
    """values, grad, m, v as named: a swapped argument would move the wrong vector."""
    values, m, v = torch.ones(3), torch.zeros(3), torch.zeros(3)
    _fixes.adam_step(values, torch.ones(3), m, v, 1, 0.1, 0.9, 0.999, 1e-8)
    assert torch.all(values < 1) and torch.all(m > 0) and torch.all(v > 0)


def test_torch_without_the_private_ops_falls_back(monkeypatch):
    monkeypatch.delattr(torch, "_fused_adam_", raising=False)
    assert not _fixes.has_fused_adam("cpu")
    assert not _fixes.has_fused_adam("cuda")
    assert not _structure.Adam(torch.zeros(3), 2, lr=1e-3).fused


def test_a_fit_on_the_fallbacks_matches_the_fast_path(monkeypatch):
    X, y = load_digits(return_X_y=True)
    X, y = X[:400] / 16, y[:400]
    params = dict(hidden_layer_sizes=(32,), random_state=0, max_iter=30, tol=0)
    fast = GLAIClassifier(**params).fit(X, y)
    monkeypatch.setattr(_structure, "has_fused_adam", lambda device: False)
    monkeypatch.setattr(_fixes, "HAS_THRESHOLD_BACKWARD", False)
    slow = GLAIClassifier(**params).fit(X, y)
    assert fast.n_structure_epochs_ == slow.n_structure_epochs_
    np.testing.assert_allclose(
        slow.structural_coefs_[0], fast.structural_coefs_[0], rtol=1e-4, atol=1e-6
    )
    np.testing.assert_allclose(slow.predict_proba(X), fast.predict_proba(X), atol=1e-4)


def test_importing_skglai_builds_no_tensor():
    """Import computes nothing: every tensor factory raises during the import."""
    code = """
import torch
def refuse(*args, **kwargs):
    raise AssertionError("a tensor was built at import time")
for name in ("zeros", "ones", "empty", "tensor", "as_tensor", "arange", "randn", "rand"):
    setattr(torch, name, refuse)
torch.Tensor.to_sparse_csr = refuse
import skglai
print("ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_a_sparse_fit_does_not_show_torch_csr_beta_warning():
    """torch's once-per-process CSR warning is silenced where skglai makes CSR tensors."""
    code = """
import warnings
import numpy as np, scipy.sparse as sp
from skglai._backend import sparse_matmul, to_tensor
import torch
A = to_tensor(sp.random(20, 10, density=0.3, random_state=0), torch.float64, "cpu")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    sparse_matmul(A, torch.ones(10, 2, dtype=torch.float64))
print([str(w.message) for w in caught if "beta" in str(w.message)])
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
