"""Shared unit blocks: exact at init, convex, within budget, and wherever a path set goes."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.exceptions import ConvergenceWarning

import skglai
from skglai import GLAIClassifier, GLAIRegressor
from skglai._backend import make_generator, to_tensor
from skglai._losses import per_sample_loss
from skglai._paths import PathOperator, all_chains, compute_gates, structural_path_set
from skglai._pruning import select_shared_units
from skglai._solvers import (
    ConvexProblem,
    Monitor,
    _normal_diagonal,
    solve_lbfgs,
    solve_lstsq,
)
from skglai._structure import init_structural_net, mlp_forward

FAST = dict(hidden_layer_sizes=(12,), structure_max_epochs=5, max_iter=20, random_state=0)


def random_net(n_features, hidden, n_outputs, seed=0):
    net = init_structural_net(
        (n_features, *hidden, n_outputs), torch.float64, "cpu", make_generator(seed, "cpu")
    )
    for b in net.biases:  # non-zero biases, so the bias paths matter
        b.add_(0.3 * torch.randn(b.shape, generator=make_generator(seed + 1, "cpu"), dtype=b.dtype))
    return net


def outputs(net, paths, n_outputs, X, theta=None, coef=None):
    operator = PathOperator(paths, n_outputs, torch.float64, "cpu", net)
    dense = X.to_dense() if X.is_sparse else X
    acts = operator.activations(compute_gates(net, dense))
    theta = torch.as_tensor(paths.stacked_theta()) if theta is None else theta
    coef = torch.as_tensor(paths.coef) if coef is None else coef
    return operator.forward(X, acts, theta, coef)


def shared_full_set(net, n_outputs, shared=None):
    (bc, bo), (sc, so) = all_chains(net.hidden_sizes, n_outputs)
    shared = np.arange(net.hidden_sizes[0]) if shared is None else shared
    return structural_path_set(net, bc, bo, sc, so, shared_units=shared)


def data(n, n_features, sparse, seed=2):
    X_np = sp.random(n, n_features, density=0.5, random_state=seed, format="csr")
    X_np.data = X_np.data * 4 - 2
    return to_tensor(X_np if sparse else X_np.toarray(), torch.float64, "cpu")


@pytest.mark.parametrize("hidden", [(7,), (5, 4), (4, 3, 3)])
@pytest.mark.parametrize("sparse", [False, True])
def test_shared_expansion_equals_structural_mlp(hidden, sparse):
    """Shared blocks plus zero-initialised dedicated blocks reproduce the net exactly."""
    net = random_net(6, hidden, 3)
    X = data(80, 6, sparse)
    paths = shared_full_set(net, 3, shared=np.array([0, 2, 3]))
    assert paths.n_shared == 3
    torch.testing.assert_close(outputs(net, paths, 3, X), mlp_forward(net, X.to_dense()))
    # The dedicated blocks on shared units start at zero; the shared blocks carry them.
    on_shared = np.isin(paths.block_chains[:, 0], paths.shared_units)
    assert on_shared.any() and not paths.theta[on_shared].any()
    assert paths.theta[~on_shared].any()


@pytest.mark.parametrize("hidden", [(7,), (5, 4), (4, 3, 3)])
@pytest.mark.parametrize("sparse", [False, True])
def test_transpose_matches_autograd(hidden, sparse):
    net = random_net(6, hidden, 3)
    X = data(40, 6, sparse, seed=1)
    paths = shared_full_set(net, 3, shared=np.array([1, 3]))
    operator = PathOperator(paths, 3, torch.float64, "cpu", net)
    acts = operator.activations(compute_gates(net, X.to_dense()))
    gen = make_generator(3, "cpu")
    theta = torch.randn(paths.stacked_theta().shape, generator=gen, dtype=torch.float64)
    coef = torch.randn(paths.coef.shape, generator=gen, dtype=torch.float64)
    theta.requires_grad_(True), coef.requires_grad_(True)
    g = torch.randn(40, 3, generator=gen, dtype=torch.float64)
    (operator.forward(X, acts, theta, coef) * g).sum().backward()
    grad_theta, grad_coef = operator.transpose(X, acts, g)
    torch.testing.assert_close(grad_theta, theta.grad)
    torch.testing.assert_close(grad_coef, coef.grad)


def make_problem(loss, hidden=(5, 4), n_outputs=3, alpha=0.1):
    net = random_net(4, hidden, n_outputs)
    X = data(120, 4, False, seed=4)
    paths = shared_full_set(net, n_outputs, shared=np.array([0, 1, 4]))
    operator = PathOperator(paths, n_outputs, torch.float64, "cpu", net)
    gen = make_generator(5, "cpu")
    if loss == "softmax":
        targets = (X[:, 0] > 0).long() + (X[:, 1] > 0.5).long()
    else:
        targets = torch.sin(X[:, :n_outputs]) + 0.1 * torch.randn(
            120, n_outputs, generator=gen, dtype=torch.float64
        )
    weights = torch.rand(120, generator=gen, dtype=torch.float64) + 0.5
    is_bias = (paths.scalar_chains == np.asarray(hidden)).all(axis=1)
    problem = ConvexProblem(
        operator,
        X,
        compute_gates(net, X),
        targets,
        weights,
        loss,
        alpha,
        torch.as_tensor(~is_bias, dtype=torch.float64),
    )
    start = [torch.as_tensor(paths.stacked_theta()), torch.as_tensor(paths.coef)]
    return problem, start


@pytest.mark.parametrize("loss", ["softmax", "squared"])
def test_objective_is_convex_along_segments(loss):
    """The objective on a segment between random points lies below the chord."""
    problem, start = make_problem(loss)
    gen = make_generator(6, "cpu")
    for _ in range(3):
        a = [p + torch.randn(p.shape, generator=gen, dtype=p.dtype) for p in start]
        b = [p + 2 * torch.randn(p.shape, generator=gen, dtype=p.dtype) for p in start]
        fa, fb = problem.full_objective(a), problem.full_objective(b)
        for t in np.linspace(0.1, 0.9, 9):
            mid = [(1 - t) * pa + t * pb for pa, pb in zip(a, b)]
            assert problem.full_objective(mid) <= (1 - t) * fa + t * fb + 1e-12


@pytest.mark.parametrize("loss", ["softmax", "squared"])
def test_full_gradient_matches_autograd(loss):
    problem, start = make_problem(loss)
    params = [p.clone().requires_grad_(True) for p in start]
    value, grad = problem.full_objective_and_grad(params)
    out = problem.outputs(params, (problem.X, problem.operator.activations(problem.ext_gates)))
    data_loss = (per_sample_loss(loss, out, problem.targets) * problem.weights).sum()
    ((data_loss + problem.penalty(params)) / problem.weight_total).backward()
    torch.testing.assert_close(grad, torch.cat([params[0].grad.reshape(-1), params[1].grad]))
    assert value == pytest.approx(problem.full_objective(start))


@pytest.mark.parametrize("hidden", [(5,), (5, 4)])
@pytest.mark.parametrize("direct", [True, False])
def test_ridge_with_shared_blocks_reaches_the_lbfgs_optimum(hidden, direct, monkeypatch):
    """Normal equations (direct) and conjugate gradients both solve the coupled problem."""
    import skglai._solvers

    if not direct:
        monkeypatch.setattr(skglai._solvers, "DIRECT_MAX_PARAMS", 0)
    monkeypatch.setattr(skglai._solvers, "CHUNK_ELEMENTS", 3000)  # several row chunks
    problem, start = make_problem("squared", hidden=hidden)
    results = []
    for solve in (solve_lbfgs, solve_lstsq):
        params = [p.clone() for p in start]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            monitor = Monitor(tol=0.0, n_iter_no_change=10**9)
            solve(problem, params, monitor, max_iter=500, tol=1e-10)
        results.append(problem.full_objective(params))
    assert results[1] == pytest.approx(results[0], rel=1e-6)
    assert results[0] < problem.full_objective(start)


@pytest.mark.parametrize("hidden", [(5,), (5, 4), (5, 3, 4)])
def test_jacobi_diagonal_is_exact(hidden, monkeypatch):
    """The conjugate gradients' preconditioner is the true diagonal, shared blocks included."""
    import skglai._paths

    monkeypatch.setattr(skglai._paths, "SQ_NORM_CHUNK_ELEMENTS", 100)  # several row chunks
    problem, start = make_problem("squared", hidden=hidden)
    n = sum(p.numel() for p in start)
    columns = []
    acts = problem.operator.activations(problem.ext_gates)
    for i in range(n):
        e = torch.zeros(n, dtype=torch.float64)
        e[i] = 1
        theta = e[: start[0].numel()].view_as(start[0])
        out = problem.operator.forward(problem.X, acts, theta, e[start[0].numel() :])
        columns.append((problem.weights[:, None] * out * out).sum())
    penalty = problem.alpha * problem.penalty_mask(start[0])
    expected = (torch.stack(columns) + penalty) / problem.weight_total
    torch.testing.assert_close(_normal_diagonal(problem, start), expected + 1e-12)


def test_shared_units_fill_the_budget_best_first():
    net = random_net(5, (6,), 4)
    X = data(100, 5, False)
    w = torch.ones(100, dtype=torch.float64)
    assert list(select_shared_units(net, 4, 6 * 6 + 4, X, w)) == list(range(6))
    assert len(select_shared_units(net, 4, 6 + 3, X, w)) == 0
    # One hidden layer: the unit's RMS contribution bound, ||r_j|| ||W_2[:, j]|| sqrt(E g ||x~||^2)
    rows = torch.cat([net.weights[0], net.biases[0][:, None]], dim=1)
    gates = (X @ net.weights[0].T + net.biases[0] > 0).double()
    energy = (gates * ((X * X).sum(dim=1, keepdim=True) + 1)).mean(dim=0).sqrt()
    score = rows.norm(dim=1) * net.weights[1].norm(dim=0) * energy
    best = np.sort(np.argsort(-score.numpy())[:2])
    np.testing.assert_array_equal(select_shared_units(net, 4, 2 * 6 + 4, X, w), best)


@pytest.mark.parametrize("budget", [200, 400, 800, 5000])
@pytest.mark.parametrize("hidden", [(12,), (8, 6)])
def test_budget_counts_exactly_what_is_trained(small_classification, budget, hidden):
    X, y = small_classification
    clf = GLAIClassifier(
        **{**FAST, "hidden_layer_sizes": hidden}, shared_units=True, param_budget=budget
    ).fit(X, y)
    paths = clf.paths_
    assert clf.n_params_ <= budget
    assert clf.n_params_ == paths.shared_theta.size + paths.theta.size + paths.coef.size
    expected_shared = min(clf.structural_coefs_[0].shape[1], (budget - 3) // (X.shape[1] + 1))
    assert paths.n_shared == expected_shared


def test_smallest_budget_shares_one_unit(small_classification):
    """At the smallest valid budget one shared block and the biases fill it."""
    X, y = small_classification
    smallest = X.shape[1] + 1 + 3
    clf = GLAIClassifier(**FAST, shared_units=True, param_budget=smallest).fit(X, y)
    assert clf.paths_.n_shared == 1 and len(clf.paths_.theta) == 0
    assert clf.n_params_ == smallest


@pytest.mark.parametrize("Estimator", [GLAIClassifier, GLAIRegressor])
@pytest.mark.parametrize("hidden", [(12,), (8, 6)])
@pytest.mark.parametrize("sparse", [False, True])
def test_fitted_structure_reproduces_the_structural_net(
    small_classification, Estimator, hidden, sparse
):
    """The paths a fit keeps, at their structural values, give the structural net's outputs."""
    X, y = small_classification
    X_fit = sp.csr_matrix(np.where(np.abs(X) > 0.5, X, 0.0)) if sparse else X
    target = y if Estimator is GLAIClassifier else X[:, 0] - X[:, 1] ** 2
    est = Estimator(**{**FAST, "hidden_layer_sizes": hidden}, shared_units=True, param_budget=5000)
    est.fit(X_fit, target)
    net = est._structural_net(torch.float64, "cpu")
    p = est.paths_
    init = structural_path_set(
        net,
        p.block_chains,
        p.block_outputs,
        p.scalar_chains,
        p.scalar_outputs,
        shared_units=p.shared_units,
    )
    assert init.n_shared == est.structural_coefs_[0].shape[1]
    X_t = to_tensor(X_fit, torch.float64, "cpu")
    torch.testing.assert_close(
        outputs(net, init, est.n_outputs_, X_t), mlp_forward(net, X_t.to_dense())
    )


def test_default_budget_one_layer_starts_exactly_at_the_net(small_classification):
    """With one hidden layer the MLP's budget always holds every shared block and bias."""
    X, y = small_classification
    clf = GLAIClassifier(**FAST, shared_units=True).fit(X, y)
    assert clf.paths_.n_shared == clf.structural_coefs_[0].shape[1]
    assert clf.n_params_ <= clf.param_budget_


def test_auto_shares_in_classifiers_with_several_outputs(small_classification, small_regression):
    X, y = small_classification
    clf = GLAIClassifier(**FAST, shared_units="auto").fit(X, y)
    assert clf.n_outputs_ > 1 and clf.shared_units_ and clf.paths_.n_shared > 0
    binary = GLAIClassifier(**FAST, shared_units="auto").fit(X, y == y[0])
    assert binary.n_outputs_ == 1 and not binary.shared_units_ and not binary.paths_.n_shared
    X, y = small_regression
    two = np.column_stack([y, -2 * y])
    reg = GLAIRegressor(**FAST, shared_units="auto").fit(X, two)
    assert reg.n_outputs_ == 2 and not reg.shared_units_ and not reg.paths_.n_shared


def test_fits_predicts_and_learns(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    clf = GLAIClassifier(hidden_layer_sizes=(32,), shared_units=True, random_state=0)
    clf.fit(X_train, y_train)
    assert clf.score(X_test, y_test) > 0.9


@pytest.mark.parametrize("solver", ["adam", "lstsq"])
def test_other_solvers(small_regression, solver):
    X, y = small_regression
    # The narrower warm-up converges within FAST's few epochs.
    reg = GLAIRegressor(**FAST, shared_units=True, solver=solver, reduction_factor=2).fit(X, y)
    assert reg.paths_.n_shared > 0
    assert reg.score(X, y) > 0.5


def test_to_torch_and_save_load_round_trip(small_classification, tmp_path):
    X, y = small_classification
    for est, target in (
        (GLAIClassifier(**{**FAST, "hidden_layer_sizes": (8, 6)}, shared_units=True), y),
        (GLAIRegressor(**FAST, shared_units=True), X[:, 0] * 2 - X[:, 3]),
    ):
        est.fit(X, target)
        assert est.paths_.n_shared > 0
        expected = est.predict(X) if isinstance(est, GLAIRegressor) else est.decision_function(X)
        module = est.to_torch()
        got = module(torch.as_tensor(X)).detach().numpy()
        np.testing.assert_allclose(got.reshape(expected.shape), expected, rtol=1e-10, atol=1e-10)
        assert {"theta", "coef", "shared_theta"} == {n for n, _ in module.named_parameters()}
        path = tmp_path / f"{type(est).__name__}.npz"
        skglai.save(est, path)
        loaded = skglai.load(path)
        np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
        np.testing.assert_array_equal(loaded.paths_.shared_units, est.paths_.shared_units)
        assert loaded.n_params_ == est.n_params_


def _rewrite(path, arrays, fitted_edit=None):
    """Write ``arrays`` back as a well-formed file: declared shapes and digest recomputed."""
    import json

    import skglai._persistence as persistence

    arrays = dict(arrays)
    arrays.pop(persistence.DIGEST_KEY)
    meta = json.loads(str(arrays[persistence.META_KEY]))
    meta["arrays"] = {
        k: [v.dtype.str, list(v.shape)] for k, v in arrays.items() if k != persistence.META_KEY
    }
    meta["integrity"] = "sha256"
    if fitted_edit:
        fitted_edit(meta["fitted"])
    arrays[persistence.META_KEY] = np.array(json.dumps(meta, sort_keys=True))
    arrays[persistence.DIGEST_KEY] = np.array(persistence._digest(arrays))
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def test_shared_blocks_round_trip_with_a_key(small_classification, tmp_path):
    X, y = small_classification
    clf = GLAIClassifier(**FAST, shared_units=True).fit(X, y)
    assert clf.paths_.n_shared > 0
    path = skglai.save(clf, tmp_path / "model.npz", key=b"secret")
    loaded = skglai.load(path, key=b"secret")
    assert loaded.shared_units_ is True
    np.testing.assert_array_equal(loaded.paths_.shared_theta, clf.paths_.shared_theta)
    np.testing.assert_array_equal(loaded.decision_function(X), clf.decision_function(X))


def test_inconsistent_shared_arrays_are_rejected(small_classification, tmp_path):
    X, y = small_classification
    path = tmp_path / "model.npz"
    skglai.save(GLAIClassifier(**FAST, shared_units=True).fit(X, y), path)
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    for key, bad, edit in (
        ("paths_/shared_units", arrays["paths_/shared_units"] + 1000, None),
        ("paths_/shared_theta", arrays["paths_/shared_theta"][:, :-1], None),
        ("paths_/shared_theta", arrays["paths_/shared_theta"].astype(np.float32), None),
        (
            "paths_/shared_units",
            arrays["paths_/shared_units"],
            lambda f: f.update(shared_units_=False),
        ),
    ):
        _rewrite(path, {**arrays, key: bad}, edit)
        with pytest.raises(ValueError, match="do not fit together"):
            skglai.load(path)


def test_a_file_without_shared_arrays_loads_as_none_shared(small_classification, tmp_path):
    X, y = small_classification
    clf = GLAIClassifier(**FAST, shared_units=False).fit(X, y)
    path = tmp_path / "model.npz"
    skglai.save(clf, path)
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files if "shared" not in k}
    _rewrite(path, arrays, lambda f: f.pop("shared_units_"))
    loaded = skglai.load(path)
    assert loaded.shared_units_ is False and loaded.paths_.n_shared == 0
    np.testing.assert_array_equal(loaded.decision_function(X), clf.decision_function(X))


def test_warm_start_reuses_shared_blocks_and_refuses_a_changed_choice(small_classification):
    X, y = small_classification
    # Without early stopping the refit runs on from the stored optimum, never above it.
    clf = GLAIClassifier(**FAST, shared_units=True, warm_start=True, early_stopping=False)
    clf.fit(X, y)
    units, loss = clf.paths_.shared_units.copy(), clf.loss_curve_[-1]
    clf.fit(X, y)
    np.testing.assert_array_equal(clf.paths_.shared_units, units)
    assert clf.loss_curve_[-1] <= loss + 1e-12
    clf.set_params(shared_units=False).fit(X, y)
    assert clf.paths_.n_shared == 0 and not clf.shared_units_


def test_bad_value_is_a_clear_error(small_classification):
    X, y = small_classification
    with pytest.raises(ValueError, match="shared_units"):
        GLAIClassifier(shared_units="yes").fit(X, y)
