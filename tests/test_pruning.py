"""Pruning never exceeds the budget and the k-best search is exact."""

import itertools

import numpy as np
import pytest
import torch

from skglai import GLAIClassifier, GLAIRegressor
from skglai._backend import make_generator
from skglai._paths import structural_path_values
from skglai._pruning import k_best_chains, min_budget, mlp_param_count, select_paths
from skglai._structure import init_structural_net, structural_sizes


def test_mlp_param_count():
    assert mlp_param_count(64, (128,), 10) == 65 * 128 + 129 * 10
    assert mlp_param_count(5, (4, 3), 2) == 6 * 4 + 5 * 3 + 4 * 2


CASES = list(
    itertools.product([3, 20, 64], [1, 3, 10], [(32,), (40, 24), (16, 12, 8)], [1, 2, 4, 8])
)


@pytest.mark.parametrize("n_features, n_outputs, hidden, reduction", CASES)
def test_budget_never_exceeded(n_features, n_outputs, hidden, reduction):
    m = structural_sizes(hidden, reduction)
    net = init_structural_net(
        (n_features, *m, n_outputs), torch.float64, "cpu", make_generator(0, "cpu")
    )
    X = torch.randn(300, n_features, generator=make_generator(1, "cpu"), dtype=torch.float64)
    w = torch.ones(300, dtype=torch.float64)
    for budget in [
        mlp_param_count(n_features, hidden, n_outputs),
        min_budget(n_features, n_outputs),
        997,
    ]:
        if budget < min_budget(n_features, n_outputs):
            continue
        bc, bo, sc, so = select_paths(net, n_outputs, budget, X, w)
        theta, coef = structural_path_values(net, bc, bo, sc, so)
        n_params = theta.numel() + coef.numel()
        assert n_params <= budget
        assert n_params == len(bc) * (n_features + 1) + len(sc)
        # Every output keeps its bias.
        assert set(so[(sc == np.asarray(m)).all(axis=1)]) == set(range(n_outputs))
        # No path is kept twice.
        assert len({(o, *c) for o, c in zip(bo, bc)}) == len(bc)
        assert len({(o, *c) for o, c in zip(so, sc)}) == len(sc)


@pytest.mark.parametrize("sizes", [(4, 5, 3), (3, 4, 4, 2), (6, 2)])
def test_k_best_chains_is_exact(sizes):
    rng = np.random.RandomState(0)
    source = rng.rand(sizes[0])
    transitions = [rng.rand(b, a) for a, b in zip(sizes[:-1], sizes[1:])]
    n_best = 7
    chains, outputs = k_best_chains(source, transitions, n_best)
    brute = []
    for path in itertools.product(*[range(s) for s in sizes]):
        score = source[path[0]]
        for layer, t in enumerate(transitions):
            score *= t[path[layer + 1], path[layer]]
        brute.append((score, path))
    brute.sort(reverse=True)
    expected = {p for _, p in brute[:n_best]}
    got = {(*c, o) for c, o in zip(chains, outputs)}
    assert got == expected


@pytest.mark.parametrize("Estimator", [GLAIClassifier, GLAIRegressor])
@pytest.mark.parametrize(
    "hidden, reduction, budget", [((64,), 2, "mlp"), ((32, 32), 2, "mlp"), ((48,), 1, 500)]
)
def test_estimator_counts_exactly_what_it_trains(
    Estimator, hidden, reduction, budget, small_classification
):
    X, y = small_classification
    est = Estimator(
        hidden,
        reduction_factor=reduction,
        param_budget=budget,
        structure_max_epochs=3,
        max_iter=20,
        random_state=0,
    )
    est.fit(X, y)
    assert est.n_params_ <= est.param_budget_
    module = est.to_torch()
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    paths = est.paths_
    assert est.n_params_ == trainable == paths.stacked_theta().size + paths.coef.size


def test_pruning_keeps_the_strongest_paths():
    """With one hidden layer the kept blocks are the top scores of all blocks."""
    n_features, n_outputs, m = 5, 4, (12,)
    net = init_structural_net(
        (n_features, *m, n_outputs), torch.float64, "cpu", make_generator(3, "cpu")
    )
    X = torch.randn(400, n_features, generator=make_generator(4, "cpu"), dtype=torch.float64)
    w = torch.ones(400, dtype=torch.float64)
    budget = n_outputs + 10 * (n_features + 1)
    bc, bo, _, _ = select_paths(net, n_outputs, budget, X, w)
    assert len(bc) == 10
    # Brute-force scores of all blocks.
    from skglai._paths import compute_gates

    gates = compute_gates(net, X)[0][:, :-1].double()
    x_sq = (X**2).sum(1) + 1
    energy = torch.sqrt((gates * x_sq[:, None]).mean(0))
    rows = torch.cat([net.weights[0], net.biases[0][:, None]], 1).norm(dim=1)
    scores = net.weights[1].abs() * rows * energy  # (K, m)
    top = torch.topk(scores.ravel(), 10).indices.numpy()
    expected = {(int(i // m[0]), int(i % m[0])) for i in top}
    assert {(int(o), int(c[0])) for o, c in zip(bo, bc)} == expected


def test_centering_softmax_outputs_keeps_probabilities_and_shrinks_blocks():
    """Shifting each unit's output weights by their median leaves the softmax unchanged."""
    import torch

    from skglai._pruning import center_softmax_outputs
    from skglai._structure import init_structural_net, mlp_forward

    gen = torch.Generator().manual_seed(0)
    net = init_structural_net((6, 5, 4, 7), torch.float64, "cpu", gen)
    net.weights[-1] += 0.5  # every class votes alike for each unit: all of it can go
    X = torch.randn(20, 6, dtype=torch.float64, generator=gen)
    before = torch.softmax(mlp_forward(net, X), dim=1)
    l1_before = net.weights[-1].abs().sum()
    last = net.weights[-1].clone()
    centred = center_softmax_outputs(net)
    torch.testing.assert_close(torch.softmax(mlp_forward(centred, X), dim=1), before)
    assert centred.weights[-1].abs().sum() < l1_before
    assert (centred.weights[-1] == 0).sum(dim=0).ge(1).all()  # a zero block per unit
    assert torch.equal(net.weights[-1], last)  # the given net is left as it was
