"""The torch-facing helpers of skglai._backend."""

import pytest
import scipy.sparse as sp
import torch

from skglai._backend import row_gatherer, sparse_matmul, to_tensor


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sparse_matmul_equals_the_dense_product(dtype):
    X = sp.random(40, 300, density=0.05, format="csr", random_state=0)
    A = to_tensor(X, dtype, "cpu")
    W = torch.randn(7, 300, dtype=dtype, generator=torch.Generator().manual_seed(0))
    expected = torch.as_tensor(X.toarray(), dtype=dtype) @ W.T
    torch.testing.assert_close(sparse_matmul(A, W.T), expected)  # W.T is not contiguous


def test_sparse_matmul_keeps_the_gradient():
    X = sp.random(30, 50, density=0.1, format="csr", random_state=1)
    A = to_tensor(X, torch.float64, "cpu")
    W = torch.randn(50, 4, dtype=torch.float64, requires_grad=True)
    sparse_matmul(A, W).pow(2).sum().backward()
    dense = torch.as_tensor(X.toarray())
    W_dense = W.detach().clone().requires_grad_(True)
    (dense @ W_dense).pow(2).sum().backward()
    torch.testing.assert_close(W.grad, W_dense.grad)


def test_importing_skglai_leaves_warning_filters_alone():
    import warnings

    import skglai  # noqa: F401

    assert not any("CSR" in str(f[1]) for f in warnings.filters if f[1] is not None)


@pytest.mark.parametrize("sparse", [False, True])
def test_row_gatherer_gathers_the_rows_in_order(sparse):
    X = sp.random(60, 25, density=0.2, format="csr", random_state=2)
    A = to_tensor(X if sparse else X.toarray(), torch.float32, "cpu")
    rows = torch.tensor([41, 3, 17, 59, 0])
    batch = row_gatherer(A)(rows)
    assert batch.is_sparse == sparse
    dense = batch.to_dense() if sparse else batch
    torch.testing.assert_close(
        dense, torch.as_tensor(X.toarray()[rows.numpy()], dtype=torch.float32)
    )
