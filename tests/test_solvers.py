"""The convex phase: solvers agree on the optimum, L-BFGS is monotone."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning

from skglai import GLAIClassifier
from skglai._backend import make_generator
from skglai._losses import per_sample_loss
from skglai._paths import PathOperator, compute_gates, full_path_set
from skglai._solvers import ConvexProblem, Monitor, solve_lbfgs, solve_lstsq, solve_minibatch
from skglai._structure import init_structural_net


def make_problem(
    loss, n=150, n_features=4, hidden=(5,), n_outputs=3, alpha=1e-1, seed=0, sparse=False
):
    gen = make_generator(seed, "cpu")
    net = init_structural_net((n_features, *hidden, n_outputs), torch.float64, "cpu", gen)
    X = torch.randn(n, n_features, generator=gen, dtype=torch.float64)
    paths = full_path_set(net, n_outputs)
    operator = PathOperator(paths, n_outputs, torch.float64, "cpu")
    if loss == "softmax":
        targets = (X[:, 0] > 0).long() + (X[:, 1] > 0.5).long()
    elif loss == "logistic":
        targets = (X[:, :n_outputs] > 0).double()
    else:
        targets = torch.sin(X[:, :n_outputs]) + 0.1 * torch.randn(
            n, n_outputs, generator=gen, dtype=torch.float64
        )
    weights = torch.rand(n, generator=gen, dtype=torch.float64) + 0.5
    is_bias = torch.as_tensor((paths.scalar_chains == np.asarray(hidden)).all(axis=1))
    problem = ConvexProblem(
        operator,
        X.to_sparse() if sparse else X,
        compute_gates(net, X),
        targets,
        weights,
        loss,
        alpha,
        (~is_bias).double(),
    )
    start = [torch.as_tensor(paths.theta).clone(), torch.as_tensor(paths.coef).clone()]
    return problem, start


def run(solver, problem, start, **kwargs):
    params = [p.clone() for p in start]
    monitor = Monitor(tol=0.0, n_iter_no_change=10**9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if solver == "lbfgs":
            solve_lbfgs(problem, params, monitor, max_iter=kwargs.get("max_iter", 500), tol=1e-10)
        elif solver == "lstsq":
            solve_lstsq(problem, params, monitor, max_iter=500, tol=1e-10)
        else:
            solve_minibatch(
                problem,
                params,
                monitor,
                algorithm=solver,
                learning_rate=kwargs["lr"],
                batch_size=problem.n_samples,
                max_iter=kwargs["epochs"],
                generator=make_generator(0, "cpu"),
            )
    return problem.full_objective(params), monitor


@pytest.mark.parametrize("loss", ["softmax", "logistic", "squared"])
def test_solvers_reach_the_same_objective(loss):
    problem, start = make_problem(loss)
    reference, _ = run("lbfgs", problem, start)
    start_value = problem.full_objective(start)
    assert reference < start_value
    candidates = {
        "adam": run("adam", problem, start, lr=0.02, epochs=3000)[0],
        "sgd": run("sgd", problem, start, lr=0.2, epochs=4000)[0],
    }
    if loss == "squared":
        candidates["lstsq"] = run("lstsq", problem, start)[0]
        assert candidates["lstsq"] == pytest.approx(reference, rel=1e-8)
    for name, value in candidates.items():
        assert value == pytest.approx(reference, rel=2e-3, abs=1e-4), name


@pytest.mark.parametrize("loss", ["softmax", "logistic", "squared"])
def test_lbfgs_loss_never_increases(loss):
    problem, start = make_problem(loss, alpha=1e-3)
    _, monitor = run("lbfgs", problem, start, max_iter=100)
    curve = np.asarray([problem.full_objective(start), *monitor.loss_curve])
    assert len(curve) > 5
    assert (np.diff(curve) <= 1e-12).all()


@pytest.mark.parametrize("loss", ["softmax", "logistic", "squared"])
def test_objective_gradient_matches_autograd(loss, monkeypatch):
    """The hand-written full-batch gradient, summed over chunks, is the gradient of
    ``full_objective``."""
    import skglai._solvers as solvers

    monkeypatch.setattr(solvers, "CHUNK_ELEMENTS", 1)  # chunks of 256 rows
    problem, start = make_problem(loss, n=600, hidden=(5, 3))
    assert len(problem._chunks) == 3
    gen = make_generator(3, "cpu")
    params = [(p + 0.1 * torch.randn(p.shape, generator=gen, dtype=p.dtype)) for p in start]
    value, grad = problem.full_objective_and_grad(params)
    leaves = [p.clone().requires_grad_(True) for p in params]
    theta, coef = leaves
    outputs = problem.outputs(leaves, problem.batch(slice(None)))
    data = per_sample_loss(loss, outputs, problem.targets)
    objective = ((data * problem.weights).sum() + problem.penalty(leaves)) / problem.weight_total
    objective.backward()
    assert value == pytest.approx(float(objective.detach()), rel=1e-12)
    assert value == pytest.approx(problem.full_objective(params), rel=1e-12)
    torch.testing.assert_close(grad, torch.cat([theta.grad.reshape(-1), coef.grad]))


@pytest.mark.parametrize("sparse", [False, True])
def test_jacobi_preconditioner_is_the_hessian_diagonal(sparse):
    """Conjugate gradients' preconditioner is the diagonal of the squared-error
    objective's Hessian (that is, of the normal equations), dense or sparse."""
    from skglai._solvers import _normal_diagonal

    problem, start = make_problem("squared", n=80, n_features=3, hidden=(3,), n_outputs=2)
    sparse_problem, _ = make_problem(
        "squared", n=80, n_features=3, hidden=(3,), n_outputs=2, sparse=sparse
    )
    theta, coef = start
    batch = problem.batch(slice(None))

    def objective(flat):
        params = (flat[: theta.numel()].view_as(theta), flat[theta.numel() :])
        data = per_sample_loss("squared", problem.outputs(params, batch), problem.targets)
        return ((data * problem.weights).sum() + problem.penalty(params)) / problem.weight_total

    flat = torch.cat([theta.reshape(-1), coef])
    hessian = torch.autograd.functional.hessian(objective, flat)
    diagonal = _normal_diagonal(sparse_problem, start)
    torch.testing.assert_close(diagonal, torch.diagonal(hessian) + 1e-12)


def test_lstsq_conjugate_gradients_match_direct_solve(monkeypatch):
    import skglai._solvers as solvers

    problem, start = make_problem("squared", n=200, hidden=(6,))
    direct, _ = run("lstsq", problem, start)
    monkeypatch.setattr(solvers, "DIRECT_MAX_PARAMS", 0)
    iterative, _ = run("lstsq", problem, start)
    assert iterative == pytest.approx(direct, rel=1e-7)


def test_direct_ridge_with_early_stopping_keeps_the_penalty_with_the_best_validation_loss():
    from skglai._solvers import RIDGE_PATH

    problem, start = make_problem("squared", n=200, hidden=(6,), alpha=1e-3)
    # The start, then one loss per penalty: the third is best, after a worse
    # second (an iterative solver's early stopping would have stopped there).
    losses = [1.0, 0.9, 0.95, 0.5, 0.7, 0.6, 0.95, 0.99]
    monitor = scripted_monitor(losses)
    params = [p.clone() for p in start]
    monitor.start(params)
    solution = solve_lstsq(problem, params, monitor, max_iter=500, tol=1e-10)
    monitor.finish(params)
    assert solution.n_iter == len(RIDGE_PATH) == len(losses) - 1
    assert solution.alpha == 1e-3 * RIDGE_PATH[2]
    assert monitor.validation_losses == losses[1:]
    assert monitor.best_score == pytest.approx(0.5)

    # The kept values are the exact ridge solution at that penalty, not at alpha.
    for got, want in zip(params, run_lstsq_at(problem, start, 1e-3 * RIDGE_PATH[2])):
        torch.testing.assert_close(got, want)
    assert not torch.allclose(params[0], run_lstsq_at(problem, start, 1e-3)[0])


def run_lstsq_at(problem, start, alpha):
    """The direct ridge solution at ``alpha``, without early stopping."""
    problem.alpha = alpha
    params = [p.clone() for p in start]
    solve_lstsq(problem, params, Monitor(tol=0.0, n_iter_no_change=1), max_iter=500, tol=1e-10)
    return params


def test_objective_is_convex_along_random_lines():
    """f(t a + (1-t) b) <= t f(a) + (1-t) f(b): the quantitative loss is convex."""
    problem, start = make_problem("softmax", alpha=1e-2)
    gen = make_generator(5, "cpu")
    a = [p + torch.randn(p.shape, generator=gen, dtype=p.dtype) for p in start]
    b = [p + torch.randn(p.shape, generator=gen, dtype=p.dtype) for p in start]
    fa, fb = problem.full_objective(a), problem.full_objective(b)
    for t in np.linspace(0.1, 0.9, 9):
        mix = [t * pa + (1 - t) * pb for pa, pb in zip(a, b)]
        assert problem.full_objective(mix) <= t * fa + (1 - t) * fb + 1e-12


def scripted_monitor(losses, n_iter_no_change=1):
    """A monitor whose validation losses are ``losses`` (the first is the start's).

    Each iterate's score is ``1 - loss``, so the tests can tell which one
    ``best_score`` reports.
    """
    pending = iter(losses)

    def validation(params):
        loss = next(pending)
        return loss, 1.0 - loss

    return Monitor(tol=1e-4, n_iter_no_change=n_iter_no_change, validation=validation)


def run_monitor(monitor, n_iterates):
    """Feed the monitor iterates 0 (start), 1, 2, ...; return the restored one and the stop."""
    params = [torch.zeros(1)]
    monitor.start(params)
    stopped_at = None
    for i in range(1, n_iterates):
        params[0].fill_(i)
        if monitor.record(1.0 / i, params):
            stopped_at = i
            break
    monitor.finish(params)
    return int(params[0].item()), stopped_at


def test_early_stopping_is_not_fooled_by_one_lucky_loss():
    # Iterate 1 has one lucky 0.10 between 0.50 and 0.40; iterates 3 and 4
    # are consistently low. Judged with its predecessor, 4 wins.
    losses = [0.50, 0.10, 0.40, 0.15, 0.14, 0.16, 0.20, 0.20]
    monitor = scripted_monitor(losses, n_iter_no_change=3)
    kept, stopped_at = run_monitor(monitor, len(losses))
    assert kept == 4
    assert monitor.best_score == pytest.approx(0.86)  # the kept iterate's own score
    assert stopped_at == 7  # three iterations after 4 without a lower windowed loss
    assert monitor.validation_losses == losses[1:]
    assert monitor.validation_scores == pytest.approx([1 - v for v in losses[1:]])


def test_early_stopping_stops_after_one_iteration_without_improvement_by_default():
    # Windowed losses 0.60, 0.50, 0.42, 0.43: the fourth does not improve.
    monitor = scripted_monitor([0.60, 0.40, 0.44, 0.42, 0.44, 0.10])
    kept, stopped_at = run_monitor(monitor, 6)
    assert (kept, stopped_at) == (2, 3)


def test_early_stopping_keeps_the_start_when_nothing_beats_it():
    monitor = scripted_monitor([0.20, 0.30, 0.25, 0.21, 0.22], n_iter_no_change=3)
    kept, stopped_at = run_monitor(monitor, 5)
    assert (kept, stopped_at) == (0, 3)
    assert monitor.best_score == pytest.approx(0.80)


def test_validation_loss_is_the_unpenalised_training_loss_on_held_out_rows(digits_split):
    from sklearn.metrics import log_loss

    X_train, X_test, y_train, y_test = digits_split
    clf = GLAIClassifier(hidden_layer_sizes=(16,), early_stopping=True, random_state=0)
    clf.fit(X_train, y_train)
    assert len(clf.validation_loss_curve_) == len(clf.validation_scores_) == clf.n_iter_
    held_out = (
        torch.as_tensor(X_test),
        torch.as_tensor(np.searchsorted(clf.classes_, y_test)),
        torch.ones(len(y_test), dtype=torch.float64),
    )
    net = clf._structural_net(torch.float64, "cpu")
    operator = PathOperator(clf.paths_, clf.n_outputs_, torch.float64, "cpu", net)
    evaluate = clf._validation_scorer(held_out, net, operator, "softmax")
    params = [torch.as_tensor(clf.paths_.stacked_theta()), torch.as_tensor(clf.paths_.coef)]
    loss, score = evaluate(params)
    assert loss == pytest.approx(log_loss(y_test, clf.predict_proba(X_test), labels=clf.classes_))
    assert score == pytest.approx(clf.score(X_test, y_test))


def test_auto_solver_solves_exactly_only_with_many_rows_per_parameter():
    from skglai._solvers import LSTSQ_MIN_ROWS_PER_PARAM, resolve_solver

    enough = LSTSQ_MIN_ROWS_PER_PARAM * 500
    assert resolve_solver("auto", "squared", enough, 500) == "lstsq"
    assert resolve_solver("auto", "squared", enough - 1, 500) == "lbfgs"
    assert resolve_solver("auto", "softmax", enough, 1) == "lbfgs"
    assert resolve_solver("lstsq", "squared", 10, 500) == "lstsq"
    with pytest.raises(ValueError, match="squared-error problems only"):
        resolve_solver("lstsq", "logistic", enough, 1)


@pytest.mark.parametrize("n_rows, resolved", [(1, "lbfgs"), (10**9, "lstsq")])
def test_solve_resolves_auto_and_returns_the_solution(n_rows, resolved):
    from skglai._solvers import solve

    problem, start = make_problem("squared", n=200, hidden=(6,))
    solutions = {}
    for solver in ("auto", resolved):
        params = [p.clone() for p in start]
        monitor = Monitor(tol=0.0, n_iter_no_change=10**9)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            solution = solve(
                solver, problem, params, monitor, max_iter=50, tol=1e-10, n_rows=n_rows
            )
        assert solution.params is params and solution.alpha == problem.alpha
        assert solution.n_iter == len(monitor.loss_curve) >= 1
        solutions[solver] = solution
    for got, want in zip(solutions["auto"].params, solutions[resolved].params):
        assert torch.equal(got, want)
