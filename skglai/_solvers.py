"""Phase 3: the convex problem over the path values, and its solvers.

With the gates frozen the outputs are linear in the path values, so::

    f(theta) = sum_n w_n loss(y_n, o(x_n)) / W + alpha / (2 W) ||theta||^2

is convex (``W`` the total sample weight; the output biases are not
penalised, as in :class:`~sklearn.neural_network.MLPClassifier`). Every
solver is a module-level function taking a :class:`ConvexProblem`, the
starting values and its settings, and returning a :class:`Solution` (the
values it found, its iteration count and the penalty of those values); a
:class:`Monitor` records the loss curve, keeps the best values for early
stopping and says when to stop. :func:`solve` resolves ``'auto'`` and
calls the solver, as scikit-learn's ``_ridge_regression`` does.
"""

import math
import warnings
from dataclasses import dataclass, field

import torch
from sklearn.exceptions import ConvergenceWarning

from ._backend import row_gatherer
from ._losses import loss_and_output_gradient, per_sample_loss

SOLVERS = ("lbfgs", "adam", "sgd", "lstsq")
# Rows per chunk of a full-batch pass: bounds the memory of the (n, Q)
# intermediates without making the matmuls small.
CHUNK_ELEMENTS = 1 << 22
# Full-batch activations are cached when they fit in this many elements.
CACHE_ELEMENTS = 1 << 27
# Early stopping judges an iterate by its validation loss (the training loss,
# unpenalised, on the held-out rows), averaged with its predecessor's. The
# loss is smooth along the iterates where accuracy on a few hundred rows
# moves by a point from one to the next, so one iteration without
# improvement is enough to stop. The window keeps the iterate after the
# loss's minimum, where accuracy usually peaks (doc/benchmarks.rst).
VALIDATION_WINDOW = 2


# solver='auto' solves a squared-error problem exactly only with at least this
# many training rows per path parameter. With fewer, the exact ridge solution
# extrapolates wildly off the training rows (blocks gated on by few rows are
# barely determined), where early-stopped L-BFGS stays near the warm start
# (doc/benchmarks.rst).
LSTSQ_MIN_ROWS_PER_PARAM = 64


@dataclass(frozen=True)
class Solution:
    """What a solver found.

    ``params`` are the solved ``[theta, coef]`` (the tensors the solver was
    given, which it fills in); ``n_iter`` counts its iterations, epochs or,
    for the direct ridge solve, the linear systems solved; ``alpha`` is the
    penalty of the solved values (another than the problem's only where the
    direct ridge solve chose one on the validation rows).
    """

    params: list
    n_iter: int
    alpha: float


def check_solver(solver, loss):
    """Refuse a solver that cannot solve this loss."""
    if solver == "lstsq" and loss != "squared":
        raise ValueError(
            "solver='lstsq' solves squared-error problems only (GLAIRegressor); "
            "use 'lbfgs', 'adam' or 'sgd' for classification."
        )


def resolve_solver(solver, loss, n_rows, n_params):
    """The solver ``'auto'`` stands for on ``n_rows`` training rows and ``n_params`` paths."""
    check_solver(solver, loss)
    if solver != "auto":
        return solver
    if loss == "squared" and n_rows >= LSTSQ_MIN_ROWS_PER_PARAM * n_params:
        return "lstsq"
    return "lbfgs"


class ConvexProblem:
    """The data, frozen gates and loss of the quantitative phase on one device."""

    def __init__(
        self, operator, X, ext_gates, targets, weights, loss, alpha, penalised, gather_rows=None
    ):
        self.operator, self.X, self.ext_gates = operator, X, ext_gates
        self.gather_rows = gather_rows or row_gatherer(X)
        self.targets, self.weights, self.loss, self.alpha = targets, weights, loss, alpha
        self.penalised = penalised
        self.n_samples = X.shape[0]
        self.weight_total = weights.sum()
        n_paths = operator.block_chains.shape[0] + operator.scalar_chains.shape[0]
        self.chunk_rows = max(256, CHUNK_ELEMENTS // max(n_paths, 1))
        self._chunks = self._make_chunks(n_paths)
        self._row_scales = weights / self.weight_total  # each row's share of the loss
        self._inv_weight_total = 1.0 / float(self.weight_total)  # synced once, not per pass

    def _make_chunks(self, n_paths):
        """Contiguous row ranges for full-batch passes, activations cached if they fit.

        Ranges are slices, so a chunk of dense data is a view of ``X``, never a copy.
        """
        cache = self.n_samples * n_paths <= CACHE_ELEMENTS
        chunks = []
        for start in range(0, self.n_samples, self.chunk_rows):
            rows = slice(start, min(start + self.chunk_rows, self.n_samples))
            chunks.append((rows, self.batch(rows) if cache else None))
        return chunks

    def batch(self, rows):
        """Everything the forward pass needs for a set of rows (a slice or an index tensor)."""
        if isinstance(rows, slice) and not self.X.is_sparse:
            X = self.X[rows]
        elif isinstance(rows, slice):
            X = self.gather_rows(torch.arange(rows.start, rows.stop, device=self.X.device))
        else:  # a minibatch: dense, since autograd differentiates through it
            X = self.gather_rows(rows)
            X = X.to_dense() if X.is_sparse else X
        acts = self.operator.activations([g[rows] for g in self.ext_gates])
        return X, acts

    def chunks(self):
        """``(rows, batch)`` for each chunk of a full-batch pass (cached batches reused)."""
        for rows, cached in self._chunks:
            yield rows, (self.batch(rows) if cached is None else cached)

    def penalty_mask(self, theta):
        """1 for every penalised value, flattened as ``[theta, coef]``."""
        ones = torch.ones(theta.numel(), dtype=theta.dtype, device=theta.device)
        return torch.cat([ones, self.penalised])

    def outputs(self, params, batch):
        X, acts = batch
        return self.operator.forward(X, acts, *params)

    def penalty(self, params):
        theta, coef = params
        flat_theta, penalised_coef = theta.reshape(-1), coef * self.penalised
        return 0.5 * self.alpha * (flat_theta @ flat_theta + penalised_coef @ penalised_coef)

    def batch_objective(self, params, rows, batch=None):
        """Objective on a minibatch, normalised by the batch's weight (as sklearn does)."""
        batch = self.batch(rows) if batch is None else batch
        w = self.weights[rows]
        total = w.sum()
        data = (
            per_sample_loss(self.loss, self.outputs(params, batch), self.targets[rows]) * w
        ).sum()
        return (data + self.penalty(params)) / total

    def full_objective_and_grad(self, params):
        """Full-batch objective and its flat gradient ``[theta, coef]``, chunk by chunk."""
        theta, coef = params
        grad_theta, grad_coef = torch.zeros_like(theta), torch.zeros_like(coef)
        total = torch.zeros((), dtype=theta.dtype, device=theta.device)
        with torch.no_grad():
            for rows, (X, acts) in self.chunks():
                out = self.operator.forward(X, acts, theta, coef)
                losses, grad_out = loss_and_output_gradient(self.loss, out, self.targets[rows])
                scales = self._row_scales[rows]
                total.add_(losses @ scales)
                chunk_theta, chunk_coef = self.operator.transpose(
                    X, acts, grad_out.mul_(scales[:, None])
                )
                grad_theta += chunk_theta
                grad_coef += chunk_coef
            decay = self.alpha * self._inv_weight_total
            grad_theta.add_(theta, alpha=decay)
            grad_coef.add_(coef * self.penalised, alpha=decay)
            total.add_(self.penalty(params), alpha=self._inv_weight_total)
        grad = torch.cat([grad_theta.reshape(-1), grad_coef])
        return float(total), grad

    def full_objective(self, params):
        """Full-batch objective alone, priced as :meth:`full_objective_and_grad` prices it."""
        with torch.no_grad():
            total = torch.zeros((), dtype=params[0].dtype, device=params[0].device)
            for rows, batch in self.chunks():
                losses = per_sample_loss(self.loss, self.outputs(params, batch), self.targets[rows])
                total.add_(losses @ self._row_scales[rows])
            total.add_(self.penalty(params), alpha=self._inv_weight_total)
            return float(total)


@dataclass
class Monitor:
    """Loss curve, stopping rule and best-values bookkeeping for a solver.

    With a ``validation`` callable (path values to ``(loss, score)`` on the
    held-out rows) it does early stopping: each iterate is judged by the
    mean validation loss of itself and the iterate before it
    (``VALIDATION_WINDOW``), training stops once that has not fallen by
    ``tol`` for ``n_iter_no_change`` iterations, and the values judged best
    (the starting values included) are restored at the end. Without it,
    training stops once the training loss has not improved by ``tol`` for
    ``n_iter_no_change`` iterations.
    """

    tol: float
    n_iter_no_change: int
    validation: object = None
    progress: object = None
    loss_curve: list = field(default_factory=list)
    validation_losses: list = field(default_factory=list)
    validation_scores: list = field(default_factory=list)
    best_score: float = -math.inf
    best_loss: float = math.inf
    best_params: list = None
    _judged_best: float = math.inf
    _losses: list = field(default_factory=list)
    _no_improvement: int = 0

    def start(self, params):
        if self.validation is not None:
            self._keep(*self.validation(params), params)

    def _keep(self, validation_loss, score, params, windowed=True):
        """Judge an iterate; keep it when its judged validation loss is the lowest so far.

        An iterate is judged by its loss averaged over the window, a
        candidate of a penalty path (``windowed=False``) by its own.
        """
        self._losses.append(validation_loss)
        window = self._losses[-VALIDATION_WINDOW:] if windowed else [validation_loss]
        judged = sum(window) / len(window)
        improved = judged < self._judged_best - self.tol
        if judged < self._judged_best:
            self._judged_best, self.best_score = judged, score
            self.best_params = [p.detach().clone() for p in params]
        return improved

    def _validate(self, params, windowed=True):
        """Score ``params`` on the held-out rows; ``(improved, score)``."""
        validation_loss, score = self.validation(params)
        self.validation_losses.append(validation_loss)
        self.validation_scores.append(score)
        return self._keep(validation_loss, score, params, windowed), score

    def record(self, loss, params):
        """Record one iteration; return True when training should stop."""
        if not math.isfinite(loss):
            raise FloatingPointError("non-finite loss")
        self.loss_curve.append(loss)
        score = None
        if self.validation is not None:
            improved, score = self._validate(params)
        else:
            improved = loss < self.best_loss - self.tol
            self.best_loss = min(self.best_loss, loss)
        self._no_improvement = 0 if improved else self._no_improvement + 1
        if self.progress is not None:
            self.progress(len(self.loss_curve), loss, score)
        return self._no_improvement >= self.n_iter_no_change

    def record_exact(self, loss, params):
        """Record an iterate of an exact solver (its loss falls by construction):
        with early stopping it counts like any iteration; without, it is only logged."""
        if self.validation is not None:
            return self.record(loss, params)
        self.loss_curve.append(loss)
        return False

    def record_candidate(self, loss, params):
        """Record one exact solution (of a penalty path, or the only one): kept
        when its own validation loss is the best so far (with early stopping),
        never a stop. For a lone solution this keeps what windowing with the
        start would: ``(start + it) / 2 < start`` exactly when ``it < start``."""
        if not math.isfinite(loss):
            raise FloatingPointError("non-finite loss")
        self.loss_curve.append(loss)
        score = self._validate(params, windowed=False)[1] if self.validation is not None else None
        if self.progress is not None:
            self.progress(len(self.loss_curve), loss, score)

    def finish(self, params):
        if self.best_params is not None:
            with torch.no_grad():
                for p, best in zip(params, self.best_params):
                    p.copy_(best)


def solve(
    solver,
    problem,
    params,
    monitor,
    *,
    max_iter,
    tol,
    learning_rate=None,
    batch_size=None,
    generator=None,
    n_rows=None,
):
    """Solve ``problem`` from ``params`` with ``solver``; returns a :class:`Solution`.

    ``'auto'`` is resolved by :func:`resolve_solver` on ``n_rows`` training
    rows (default: the problem's). The monitor starts on the given values
    and, at the end, puts back the values it kept (early stopping).
    """
    n_rows = problem.n_samples if n_rows is None else n_rows
    n_params = sum(p.numel() for p in params)
    solver = resolve_solver(solver, problem.loss, n_rows, n_params)
    monitor.start(params)
    if solver == "lbfgs":
        solution = solve_lbfgs(problem, params, monitor, max_iter=max_iter, tol=tol)
    elif solver == "lstsq":
        solution = solve_lstsq(problem, params, monitor, max_iter=max_iter, tol=tol)
    else:
        solution = solve_minibatch(
            problem,
            params,
            monitor,
            algorithm=solver,
            learning_rate=learning_rate,
            batch_size=batch_size,
            max_iter=max_iter,
            generator=generator,
        )
    monitor.finish(params)
    return solution


def solve_lbfgs(problem, params, monitor, *, max_iter, tol, history_size=10):
    """Full-batch L-BFGS with a backtracking Armijo line search.

    The loss never increases from one iteration to the next. Stops when the
    gradient's largest entry is below ``tol``, on the monitor's rule, or at
    ``max_iter``.
    """
    value, grad = problem.full_objective_and_grad(params)
    pairs = []  # (s, y, s . y, y . y), oldest first
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        if float(grad.abs().max()) <= tol:
            n_iter -= 1
            break
        direction = _two_loop(grad, pairs)
        step = 1.0 if pairs else min(1.0, 1.0 / float(grad.abs().sum()))
        x0 = _flat_params(params)
        slope = float(grad @ direction)
        if slope >= 0:  # not a descent direction: restart from the gradient
            pairs.clear()
            direction, slope = -grad, -float(grad @ grad)
        new_value, new_grad, step = _armijo(problem, params, x0, direction, value, slope, step)
        if new_value is None:
            _set_flat(params, x0)
            break
        s, y = step * direction, new_grad - grad
        s_dot_y, y_dot_y = float(s @ y), float(y @ y)
        if s_dot_y > 1e-10 * y_dot_y:
            pairs.append((s, y, s_dot_y, y_dot_y))
            if len(pairs) > history_size:
                pairs.pop(0)
        converged = abs(value - new_value) <= 1e-12 * max(1.0, abs(value))
        value, grad = new_value, new_grad
        if monitor.record(value, params) or converged:
            break
    else:
        _warn_max_iter("lbfgs", max_iter)
    return Solution(params, n_iter, problem.alpha)


def _armijo(problem, params, x0, direction, value, slope, step, c1=1e-4, max_halvings=30):
    for _ in range(max_halvings):
        _set_flat(params, x0 + step * direction)
        new_value, new_grad = problem.full_objective_and_grad(params)
        if math.isfinite(new_value) and new_value <= value + c1 * step * slope:
            return new_value, new_grad, step
        step *= 0.5
    return None, None, step


def _two_loop(grad, pairs):
    """The L-BFGS direction ``-H grad`` from the stored curvature pairs.

    Each pair brings its ``s . y`` and ``y . y`` from when it was stored, so a
    pair costs one dot product and one in-place update per loop: on small
    data (digits) each torch call counts, and the loop was a sixth of them.
    """
    q = grad.clone()
    alphas = []
    for s, y, s_dot_y, _ in reversed(pairs):
        a = float(s @ q) / s_dot_y
        q.add_(y, alpha=-a)
        alphas.append(a)
    if pairs:
        _, _, s_dot_y, y_dot_y = pairs[-1]
        q.mul_(s_dot_y / y_dot_y)
    for (s, y, s_dot_y, _), a in zip(pairs, reversed(alphas)):
        b = float(y @ q) / s_dot_y
        q.add_(s, alpha=a - b)
    return q.neg_()


def _flat_params(params):
    return torch.cat([p.detach().reshape(-1) for p in params])


def _set_flat(params, flat):
    with torch.no_grad():
        offset = 0
        for p in params:
            p.copy_(flat[offset : offset + p.numel()].view_as(p))
            offset += p.numel()


def solve_minibatch(
    problem, params, monitor, *, algorithm, learning_rate, batch_size, max_iter, generator
):
    """Minibatch Adam or SGD (Nesterov momentum 0.9), one monitor record per epoch."""
    for p in params:
        p.requires_grad_(True)
    if algorithm == "adam":
        optimizer = torch.optim.Adam(params, lr=learning_rate)
    else:
        optimizer = torch.optim.SGD(params, lr=learning_rate, momentum=0.9, nesterov=True)
    n, device = problem.n_samples, problem.X.device
    epoch = 0
    for epoch in range(1, max_iter + 1):  # noqa: B007 (returned after the loop)
        order = (
            torch.randperm(n, generator=generator).to(device)
            if batch_size < n
            else torch.arange(n, device=device)
        )
        total = 0.0
        for start in range(0, n, batch_size):
            rows = order[start : start + batch_size]
            if float(problem.weights[rows].sum()) <= 0:
                continue
            optimizer.zero_grad(set_to_none=True)
            objective = problem.batch_objective(params, rows)
            objective.backward()
            optimizer.step()
            total += float(objective.detach()) * float(problem.weights[rows].sum())
        if monitor.record(total / float(problem.weight_total), params):
            break
    else:
        _warn_max_iter(algorithm, max_iter)
    for p in params:
        p.requires_grad_(False)
    return Solution(params, epoch, problem.alpha)


# Below these sizes the normal equations are formed and solved directly.
DIRECT_MAX_PARAMS = 4096
DIRECT_MAX_FLOPS = 1e10
# With early stopping the direct solver chooses its penalty on the held-out
# rows, as RidgeCV does: alpha times each of these, least penalised first.
# The exact optimum at the MLP's alpha (1e-4) is barely regularised, and a
# few anomalous test rows can wreck it (doc/benchmarks.rst).
RIDGE_PATH = tuple(10.0**k for k in range(7))


def solve_lstsq(problem, params, monitor, *, max_iter, tol):
    """Exact ridge for the squared loss.

    Small problems form the normal equations once and solve them by
    Cholesky; with early stopping, once for each penalty ``alpha * scale``
    of ``RIDGE_PATH`` (at most ``max_iter`` of them), keeping the values
    with the best validation loss. Larger problems use matrix-free
    preconditioned conjugate gradients, whose iterates early stopping
    judges. The solution's ``n_iter`` counts the systems solved (direct) or
    the iterations (conjugate gradients); its ``alpha`` is the penalty
    whose exact solution was kept.
    """
    n_params = sum(p.numel() for p in params)
    if n_params <= DIRECT_MAX_PARAMS and problem.n_samples * n_params**2 <= DIRECT_MAX_FLOPS:
        alphas = [problem.alpha]
        if monitor.validation is not None and problem.alpha > 0:
            alphas = [problem.alpha * scale for scale in RIDGE_PATH[:max_iter]]
        solution = _solve_normal_equations(problem, params, monitor, alphas)
        if solution.n_iter:
            return solution
        # singular without a penalty: conjugate gradients still work
    return _solve_cg(problem, params, monitor, max_iter=max_iter, tol=tol)


def _solve_normal_equations(problem, params, monitor, alphas):
    """Ridge by Cholesky on ``(Phi^T W Phi) * same_output + alpha P``, for each alpha.

    Each solution is left in ``params`` and recorded. The solution's
    ``n_iter`` is how many systems were solved (a singular one is skipped),
    its ``alpha`` the penalty of the solution the monitor keeps (the
    problem's when it keeps the starting values).
    """
    if hasattr(problem, "normal_equations"):  # a distributed problem sums them on its workers
        gram, rhs = problem.normal_equations(params[0])
    else:
        gram, rhs = _normal_equations(problem, params[0])
    penalty = problem.penalty_mask(params[0])
    n_solved, kept = 0, problem.alpha
    for alpha in alphas:
        try:
            factor = torch.linalg.cholesky(gram + torch.diag(alpha * penalty))
        except torch.linalg.LinAlgError:
            continue
        _set_flat(params, torch.cholesky_solve(rhs[:, None], factor)[:, 0])
        n_solved += 1
        best = monitor.best_params
        monitor.record_candidate(problem.full_objective(params), params)
        if monitor.validation is None or monitor.best_params is not best:
            kept = alpha  # without validation the last solution is the one kept
    return Solution(params, n_solved, kept)


def _normal_equations(problem, theta):
    """The problem's ``Phi^T W Phi`` (masked to same-output pairs) and ``Phi^T W t``."""
    return problem.operator.normal_equations(
        problem.chunks(), problem.weights, problem.targets, theta, CHUNK_ELEMENTS
    )


def _solve_cg(problem, params, monitor, *, max_iter, tol):
    """Preconditioned conjugate gradients on the normal equations.

    Solves ``(A^T W A + alpha P) theta = A^T W t`` matrix-free: ``A v`` is one
    forward pass (the model is linear in its values, biases included) and
    ``A^T r`` one ``PathOperator.transpose``. Jacobi preconditioning. The loss
    curve comes for free from the CG residual.
    """
    b = _normal_rhs(problem, params)
    diag = _normal_diagonal(problem, params)
    x = _flat_params(params)
    r = b - _normal_matvec(problem, params, x)
    z = r / diag
    d = z.clone()
    rz = float(r @ z)
    b_norm = max(float(b.norm()), 1e-30)
    offset = float((problem.weights * problem.targets.pow(2).sum(dim=1)).sum()) / (
        2 * float(problem.weight_total)
    )
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        if float(r.norm()) <= tol * 1e-2 * b_norm:
            n_iter -= 1
            break
        hd = _normal_matvec(problem, params, d)
        step = rz / float(d @ hd)
        x = x + step * d
        r = r - step * hd
        z = r / diag
        rz_new = float(r @ z)
        d = z + (rz_new / rz) * d
        rz = rz_new
        _set_flat(params, x)
        value = -0.5 * float(x @ (b + r)) + offset
        if monitor.record_exact(value, params):
            break
    else:
        _warn_max_iter("lstsq", max_iter)
    _set_flat(params, x)
    return Solution(params, n_iter, problem.alpha)


def _linear_outputs(problem, flat, params, batch):
    theta, coef = params
    v_theta = flat[: theta.numel()].view_as(theta)
    v_coef = flat[theta.numel() :].view_as(coef)
    return problem.outputs((v_theta, v_coef), batch)


def _weighted_transpose(problem, residual):
    """``A^T W r / W`` (flat), chunk by chunk; ``residual(rows, batch)`` gives a chunk's ``r``."""
    total = 0.0
    for rows, batch in problem.chunks():
        X, acts = batch
        weighted = residual(rows, batch) * problem.weights[rows][:, None]
        grad_theta, grad_coef = problem.operator.transpose(X, acts, weighted)
        total = total + torch.cat([grad_theta.reshape(-1), grad_coef])
    return total / problem.weight_total


def _normal_matvec(problem, params, flat):
    """``(A^T W A + alpha P) v / W`` via one forward and one transpose per chunk."""
    data = _weighted_transpose(
        problem, lambda rows, batch: _linear_outputs(problem, flat, params, batch)
    )
    return data + problem.alpha * problem.penalty_mask(params[0]) * flat / problem.weight_total


def _normal_rhs(problem, params):
    """``A^T W t / W``."""
    return _weighted_transpose(problem, lambda rows, batch: problem.targets[rows])


def _normal_diagonal(problem, params):
    """Jacobi preconditioner: the diagonal of ``(A^T W A + alpha P) / W``."""
    theta, coef = params
    diag_theta, diag_coef = problem.operator.normal_diagonal(
        problem.chunks(), problem.weights, theta, coef
    )
    diag = torch.cat([diag_theta.reshape(-1), diag_coef])
    return (diag + problem.alpha * problem.penalty_mask(theta)) / problem.weight_total + 1e-12


def _warn_max_iter(solver, max_iter):
    warnings.warn(
        f"The quantitative phase ({solver}) reached max_iter={max_iter} before "
        "converging; raise max_iter or tol.",
        ConvergenceWarning,
        stacklevel=2,
    )
