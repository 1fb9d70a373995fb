"""The path expansion reproduces the structural MLP exactly before training."""

import math

import numpy as np
import pytest
import torch

from skglai._backend import make_generator
from skglai._paths import PathOperator, all_chains, compute_gates, full_path_set
from skglai._pruning import full_expansion_size
from skglai._structure import init_structural_net, mlp_forward


def random_net(n_features, hidden, n_outputs, dtype, seed=0):
    net = init_structural_net(
        (n_features, *hidden, n_outputs), dtype, "cpu", make_generator(seed, "cpu")
    )
    # Non-zero biases everywhere, so bias-start paths matter.
    for b in net.biases:
        b.add_(
            0.3
            * torch.randn(
                b.shape, generator=make_generator(seed + 1, "cpu"), dtype=torch.float64
            ).to(dtype)
        )
    return net


def path_outputs(net, paths, n_outputs, X):
    operator = PathOperator(paths, n_outputs, X.dtype, "cpu")
    acts = operator.activations(compute_gates(net, X))
    return operator.forward(X, acts, torch.as_tensor(paths.theta), torch.as_tensor(paths.coef))


@pytest.mark.parametrize("hidden", [(7,), (5, 4), (4, 3, 3)])
@pytest.mark.parametrize("dtype, atol", [(torch.float64, 1e-12), (torch.float32, 2e-5)])
def test_full_expansion_equals_structural_mlp(hidden, dtype, atol):
    n_features, n_outputs = 6, 3
    net = random_net(n_features, hidden, n_outputs, dtype)
    X = torch.randn(200, n_features, generator=make_generator(2, "cpu"), dtype=torch.float64).to(
        dtype
    )
    paths = full_path_set(net, n_outputs)
    expected = mlp_forward(net, X)
    got = path_outputs(net, paths, n_outputs, X)
    assert got.dtype == dtype
    scale = max(1.0, float(expected.abs().max()))
    assert float((got - expected).abs().max()) <= atol * scale


def test_full_expansion_on_sparse_input():
    import scipy.sparse as sp

    from skglai._backend import to_tensor

    net = random_net(8, (4, 3), 2, torch.float64)
    X_sparse = sp.random(50, 8, density=0.3, random_state=0, format="csr")
    X_dense = torch.as_tensor(X_sparse.toarray())
    paths = full_path_set(net, 2)
    got = path_outputs(net, paths, 2, to_tensor(X_sparse, torch.float64, "cpu"))
    torch.testing.assert_close(got, mlp_forward(net, X_dense))


@pytest.mark.parametrize("hidden", [(3,), (3, 2), (2, 3, 2)])
def test_chain_counts_match_design(hidden):
    n_outputs, n_features = 2, 4
    (blocks, block_out), (scalars, scalar_out) = all_chains(hidden, n_outputs)
    assert len(blocks) == n_outputs * math.prod(hidden)
    # Scalars: every chain that starts at a deeper layer's bias, plus the output biases.
    expected_scalars = n_outputs * sum(math.prod(hidden[s:]) for s in range(1, len(hidden) + 1))
    assert len(scalars) == expected_scalars
    assert full_expansion_size(n_features, hidden, n_outputs) == len(blocks) * (
        n_features + 1
    ) + len(scalars)
    # Constant units form a prefix of every scalar chain; blocks start on a real unit.
    constant = np.asarray(hidden)
    assert (blocks < constant).all()
    is_constant = scalars == constant
    assert is_constant[:, 0].all()
    assert (np.diff(is_constant.astype(int), axis=1) <= 0).all()


@pytest.mark.parametrize("hidden", [(7,), (5, 4), (4, 3, 3)])
@pytest.mark.parametrize("sparse", [False, True])
def test_transpose_is_the_vector_jacobian_product(hidden, sparse):
    """``PathOperator.transpose`` gives what autograd gives through ``forward``."""
    import scipy.sparse as sp

    from skglai._backend import to_tensor

    n_features, n_outputs = 6, 3
    net = random_net(n_features, hidden, n_outputs, torch.float64)
    X_np = sp.random(40, n_features, density=0.5, random_state=1, format="csr")
    X = to_tensor(X_np if sparse else X_np.toarray(), torch.float64, "cpu")
    paths = full_path_set(net, n_outputs)
    operator = PathOperator(paths, n_outputs, torch.float64, "cpu")
    acts = operator.activations(compute_gates(net, X.to_dense() if sparse else X))
    theta = torch.as_tensor(paths.theta).clone().requires_grad_(True)
    coef = torch.as_tensor(paths.coef).clone().requires_grad_(True)
    g = torch.randn(40, n_outputs, generator=make_generator(2, "cpu"), dtype=torch.float64)
    (operator.forward(X, acts, theta, coef) * g).sum().backward()
    grad_theta, grad_coef = operator.transpose(X, acts, g)
    torch.testing.assert_close(grad_theta, theta.grad)
    torch.testing.assert_close(grad_coef, coef.grad)
