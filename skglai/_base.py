"""The estimator shared by GLAIClassifier and GLAIRegressor.

``fit`` runs the method in order: structure (warm-up MLP) -> paths (expand
and prune to the budget) -> quantities (the convex phase). Everything about
targets (label encoding, target scaling, the validation score) is left to
the thin subclasses in :mod:`skglai._classes`.
"""

import dataclasses
import math
import time
import warnings
from abc import ABCMeta, abstractmethod
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ._backend import (
    import_torch_optim,
    make_generator,
    resolve_device,
    row_gatherer,
    to_numpy,
    to_tensor,
    torch_dtype,
)
from ._conditioning import CONDITIONINGS, InputConditioner
from ._losses import per_sample_loss
from ._memory import check_fit_memory, fit_memory_estimate
from ._paths import PathOperator, compute_gates, is_output_bias, structural_path_set
from ._progress import phase_progress
from ._pruning import (
    center_softmax_outputs,
    resolve_budget,
    select_paths,
    select_shared_units,
)
from ._solvers import (
    ConvexProblem,
    Monitor,
    check_solver,
    resolve_solver,
    solve,
)
from ._structure import (
    StructuralNet,
    choose_probe,
    fit_structure,
    init_structural_net,
    structural_sizes,
)

PREDICT_CHUNK_ELEMENTS = 1 << 22
# early_stopping='auto' holds out a validation split from this many samples
# on: the convex refit starts at the warm-up's solution and overfits fast, on
# small data most of all, and a 10% split of 20 rows still ranks iterates by
# their loss (doc/benchmarks.rst).
EARLY_STOPPING_AUTO_SAMPLES = 200
# ... and, in a classifier, only when the split gives this many validation
# rows per class on average: with one or two a class, the held-out rows rank
# iterates by noise, and few-shot fits stopped far too early
# (doc/benchmarks.rst, "Few examples per class").
EARLY_STOPPING_AUTO_ROWS_PER_CLASS = 5
# batch_size='auto': a warm-up step has a fixed overhead on a CPU (row gathers,
# Adam, Python), so fewer, larger steps win (see doc/benchmarks.rst).
AUTO_BATCH_SIZE = 512
# ... but every epoch takes at least AUTO_MIN_STEPS steps: the warm-up's
# stopping rule compares epochs, and one full-batch step barely moves the net.
AUTO_MIN_STEPS = 4
# With early stopping, inputs larger than this are not copied into a training
# subset; the validation rows get zero training weight instead.
MASK_VALIDATION_BYTES = 256 << 20
# shared_units="auto" shares a classifier's first-layer units from this many
# outputs on: with one output a shared block is a dedicated block.
SHARED_UNITS_AUTO_OUTPUTS = 2
# reduction_factor="auto": a warm-up net half as wide as the replaced MLP ...
AUTO_REDUCTION_FACTOR = 2
# ... except for classifiers with this many classes or more. Their shared
# units are the warm-up net's units, and the rest of the budget leaves each
# class too few dedicated blocks to make up for half the width
# (doc/benchmarks.rst, "Many classes").
FULL_WIDTH_AUTO_CLASSES = 20


class BaseGLAI(BaseEstimator, metaclass=ABCMeta):
    """Parameters, validation and the three-phase fit. Not for direct use."""

    _y_numeric = False
    _auto_shares_units = False

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "reduction_factor": [StrOptions({"auto"}), Interval(Real, 1, None, closed="left")],
        "param_budget": [StrOptions({"mlp"}), Interval(Integral, 1, None, closed="left")],
        "structure_max_epochs": [Interval(Integral, 1, None, closed="left")],
        "structure_tol": [Interval(Real, 0, 1, closed="both")],
        "structure_patience": [Interval(Integral, 1, None, closed="left")],
        "input_conditioning": [StrOptions(set(CONDITIONINGS))],
        "solver": [StrOptions({"auto", "lbfgs", "adam", "sgd", "lstsq"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "early_stopping": [StrOptions({"auto"}), "boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "shared_units": [StrOptions({"auto"}), "boolean"],
    }

    @abstractmethod
    def __init__(
        self,
        hidden_layer_sizes=(100,),
        *,
        reduction_factor="auto",
        param_budget="mlp",
        structure_max_epochs=30,
        structure_tol=0.01,
        structure_patience=3,
        input_conditioning="global",
        solver="auto",
        alpha=1e-4,
        batch_size="auto",
        learning_rate_init=8e-3,
        max_iter=200,
        tol=1e-4,
        early_stopping="auto",
        validation_fraction=0.1,
        n_iter_no_change=1,
        device="auto",
        random_state=None,
        verbose=0,
        warm_start=False,
        shared_units="auto",
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.reduction_factor = reduction_factor
        self.param_budget = param_budget
        self.structure_max_epochs = structure_max_epochs
        self.structure_tol = structure_tol
        self.structure_patience = structure_patience
        self.input_conditioning = input_conditioning
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.tol = tol
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.shared_units = shared_units

    # ------------------------------------------------------------------ hooks
    @abstractmethod
    def _encode_targets(self, y, sample_weight):
        """Return ``(targets, loss, sample_weight, fitted)`` for validated ``y``.

        ``fitted`` holds the target-related fitted attributes to set once
        the fit has succeeded (``classes_``, target scaling, ...).
        """

    def _stratify(self, y):
        return None

    # -------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model: structural warm-up, path pruning, convex phase.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. float32 input trains in float32. A Dask array or
            Dask DataFrame is fitted on the running ``dask.distributed``
            client without gathering its rows (see "Scaling out" in the
            documentation).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values (class labels, a label indicator matrix, or
            real-valued targets).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        # The fit runs on a detached copy and its fitted state replaces this
        # estimator's in one assignment: a concurrent predict (which reads one
        # snapshot, see _fitted_view) sees the old model or the new one, and a
        # failed or interrupted refit leaves the old one untouched.
        new = self._detached_copy()
        if _is_dask_collection(X):  # Dask is imported only when a Dask array arrives
            from ._dask import fit_dask

            fit_dask(new, X, y, sample_weight)
        else:
            new._fit(X, y, sample_weight)
        fitted = {k: v for k, v in vars(new).items() if self._is_fitted_name(k)}
        kept = {k: v for k, v in vars(self).items() if not self._is_fitted_name(k)}
        self.__dict__ = {**kept, **fitted}
        return self

    # Fitted state whose names do not end in "_" (set by the subclasses).
    _private_fitted = ()

    @classmethod
    def _is_fitted_name(cls, name):
        return (name.endswith("_") and not name.startswith("__")) or name in cls._private_fitted

    def _detached_copy(self):
        """The same class with a copy of this instance's attributes (one atomic dict copy)."""
        copy = object.__new__(type(self))
        copy.__dict__ = self.__dict__.copy()
        return copy

    def _fitted_view(self):
        """A consistent snapshot of the fitted model for one predict call."""
        check_is_fitted(self)
        return self._detached_copy()

    def _fit(self, X, y, sample_weight):
        X, y, sample_weight = self._validate_fit_inputs(X, y, sample_weight)
        hidden = self._hidden_sizes()
        device = resolve_device(self.device)
        targets, loss, sample_weight, target_state = self._encode_targets(y, sample_weight)
        if not sample_weight.sum() > 0:
            raise ValueError(
                "sample_weight and class_weight together give every sample a zero "
                "weight: at least one sample needs a positive weight."
            )
        n_outputs = targets.shape[1] if loss != "softmax" else len(target_state["classes_"])
        budget = self._budget(X.shape[1], hidden, n_outputs)
        reduction_factor = self._reduction_factor(loss, n_outputs)
        check_solver(self.solver, loss)
        parts = fit_memory_estimate(
            X.shape[0],
            X.shape[1],
            structural_sizes(hidden, reduction_factor),
            n_outputs,
            budget,
            X.dtype.itemsize,
        )
        check_fit_memory(parts, device, self.param_budget == "mlp")
        if self.solver in ("adam", "sgd"):
            import_torch_optim()  # before any work, so an interrupt cannot leave it half done
        rng = check_random_state(self.random_state)
        train, val = self._split(y, rng, n_outputs if loss == "softmax" else None)
        generator = make_generator(rng.randint(np.iinfo(np.int32).max), "cpu")
        conditioner = InputConditioner.fit(
            X, _training_weights(sample_weight, val), self.input_conditioning
        )
        data = _FitData(
            conditioner.transform(X), targets, sample_weight, loss, torch_dtype(X.dtype), device
        )
        rows = _TrainingRows(*data.training_tensors(train, val), loss)
        validation = None if val is None else data.tensors(val)
        times = {}

        plan = _ModelPlan(
            n_outputs,
            target_state,
            hidden,
            budget,
            self._shares_units(n_outputs),
            reduction_factor,
        )
        net, paths, structure = self._structure_and_paths(
            rows, validation, plan, conditioner, rng, generator, times
        )
        with _timed(times, "paths"):
            operator = PathOperator(paths, n_outputs, data.dtype, device, net)
            ext_gates = compute_gates(net, rows.X)

        with _timed(times, "quantities"):
            solver = resolve_solver(self.solver, loss, len(train), paths.n_params)
            params = [
                torch.as_tensor(values, dtype=data.dtype, device=device).clone()
                for values in (paths.stacked_theta(), paths.coef)
            ]
            penalised = ~is_output_bias(paths.scalar_chains, net.hidden_sizes)
            problem = ConvexProblem(
                operator,
                rows.X,
                ext_gates,
                rows.targets,
                rows.weights,
                loss,
                self.alpha,
                torch.as_tensor(penalised, dtype=data.dtype, device=device),
                rows.gather_rows,
            )
            scorer = (
                None if val is None else self._validation_scorer(validation, net, operator, loss)
            )
            monitor, solution = self._quantities(solver, problem, params, scorer, generator)

        fitted_paths = _paths_to(
            conditioner.to_raw, paths.with_values(*(to_numpy(p) for p in solution.params))
        )
        net = _first_layer_to(conditioner.to_raw, net)
        self._set_fitted(plan, net, structure, fitted_paths, monitor, solution, solver)
        self.fit_times_, self.device_ = times, str(device)
        return self

    def _quantities(self, solver, problem, params, scorer, generator):
        """The convex phase: solve, then insist on finite values."""
        with self._progress("quantities", self.max_iter, f"GLAI quantities ({solver})") as progress:
            monitor = Monitor(
                tol=self.tol,
                n_iter_no_change=self.n_iter_no_change,
                validation=scorer,
                progress=progress,
            )
            try:
                solution = solve(
                    solver,
                    problem,
                    params,
                    monitor,
                    max_iter=self.max_iter,
                    tol=self.tol,
                    learning_rate=self.learning_rate_init,
                    batch_size=self._batch_size(problem.n_samples),
                    generator=generator,
                )
            except FloatingPointError as exc:
                raise ValueError(
                    f"The quantitative phase ({solver}) diverged: the loss became "
                    "non-finite. Lower learning_rate_init or standardise the features."
                ) from exc
        if not all(torch.isfinite(p).all() for p in solution.params):
            raise ValueError(
                "The quantitative phase diverged (non-finite path values); lower "
                "learning_rate_init or use solver='lbfgs'."
            )
        return monitor, solution

    def _validate_fit_inputs(self, X, y, sample_weight):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            dtype=[np.float64, np.float32],
            multi_output=True,
            y_numeric=self._y_numeric,
            reset=True,
        )
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(f"X is empty: shape {X.shape}; GLAI needs samples and features.")
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        if not sample_weight.sum() > 0:
            raise ValueError(
                "sample_weight sums to zero: at least one sample needs a positive weight."
            )
        return X, y, sample_weight

    def _hidden_sizes(self):
        hidden = self.hidden_layer_sizes
        hidden = [hidden] if isinstance(hidden, Integral) else list(hidden)
        if not hidden or any(not isinstance(h, Integral) or h <= 0 for h in hidden):
            raise ValueError(
                f"hidden_layer_sizes must be positive integers; got {self.hidden_layer_sizes!r}."
            )
        return tuple(int(h) for h in hidden)

    def _budget(self, n_features, hidden, n_outputs):
        return resolve_budget(self.param_budget, n_features, hidden, n_outputs)

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(AUTO_BATCH_SIZE, math.ceil(n_samples / AUTO_MIN_STEPS))
        return min(self.batch_size, n_samples)

    def _split(self, y, rng, n_classes=None):
        """Training and validation row indices (validation is None without early stopping).

        ``n_classes`` is the class count of a single-label (softmax) classifier.
        """
        rows = np.arange(y.shape[0])
        if not self._uses_early_stopping(y.shape[0], n_classes):
            return rows, None
        try:
            train, val = train_test_split(
                rows,
                test_size=self.validation_fraction,
                random_state=rng.randint(np.iinfo(np.int32).max),
                stratify=self._stratify(y),
            )
        except ValueError as exc:
            if self.early_stopping == "auto":  # e.g. a class too rare to stratify: go without
                return rows, None
            raise ValueError(
                f"early_stopping={self.early_stopping!r} could not hold out validation_fraction="
                f"{self.validation_fraction} of {y.shape[0]} samples: {exc}"
            ) from exc
        return np.sort(train), np.sort(val)

    def _uses_early_stopping(self, n_samples, n_classes=None):
        """Whether to hold out validation rows (``n_classes``: of a single-label classifier)."""
        if self.early_stopping != "auto":
            return bool(self.early_stopping)
        if n_samples < EARLY_STOPPING_AUTO_SAMPLES:
            return False
        per_class = self.validation_fraction * n_samples / (n_classes or 1)
        return per_class >= EARLY_STOPPING_AUTO_ROWS_PER_CLASS

    def _reduction_factor(self, loss, n_outputs):
        """``reduction_factor`` resolved for a fit with this loss and output count."""
        if not isinstance(self.reduction_factor, str):  # a number: as given
            return self.reduction_factor
        if loss == "softmax" and n_outputs >= FULL_WIDTH_AUTO_CLASSES:
            return 1
        return AUTO_REDUCTION_FACTOR

    def _shares_units(self, n_outputs):
        """Whether this fit asks for shared unit blocks (``shared_units`` resolved)."""
        if self.shared_units == "auto":
            return self._auto_shares_units and n_outputs >= SHARED_UNITS_AUTO_OUTPUTS
        return bool(self.shared_units)

    def _reusable_state(self, n_features, plan, conditioner, dtype, device):
        """With warm_start, the previous structure and paths when they still fit.

        Returns a :class:`_WarmStart`, or None for a fresh fit.

        Changed data shapes, classes, structural sizes, budget or resolved
        ``shared_units`` start a fresh fit, so ``n_params_ <= param_budget_``
        always holds. The fitted values are stored for raw input; they come
        back in the conditioned coordinates of this fit.
        """
        if not (self.warm_start and hasattr(self, "paths_")):
            return None
        if getattr(self, "shared_units_", False) != plan.share:
            return None
        if self.n_outputs_ != plan.n_outputs or self.structural_coefs_[0].shape[0] != n_features:
            return None
        fitted_hidden = tuple(w.shape[1] for w in self.structural_coefs_[:-1])
        if fitted_hidden != structural_sizes(plan.hidden, plan.reduction_factor):
            return None
        if self.param_budget_ != plan.budget:
            return None
        if "classes_" in plan.target_state and not np.array_equal(
            self.classes_, plan.target_state["classes_"]
        ):
            return None
        net = _first_layer_to(conditioner.to_conditioned, self._structural_net(dtype, device))
        return _WarmStart(net, _paths_to(conditioner.to_conditioned, self.paths_))

    def _structure_and_paths(self, rows, validation, plan, conditioner, rng, generator, times):
        """``(net, paths, structure)``: phases 1 and 2, or the warm start's net and paths.

        ``rows`` are in the conditioned coordinates of ``conditioner``; so are
        the returned net and paths. ``structure`` is None on a warm start.
        """
        n_features, dtype, device = rows.X.shape[1], rows.X.dtype, rows.X.device
        with _timed(times, "structure"):
            reuse = self._reusable_state(n_features, plan, conditioner, dtype, device)
            if reuse is not None:
                return reuse.net, reuse.paths, None
            hidden = structural_sizes(plan.hidden, plan.reduction_factor)
            net = init_structural_net(
                (n_features, *hidden, plan.n_outputs), dtype, device, generator
            )
            structure = self._fit_structure(net, rows, rng, generator, validation)
        with _timed(times, "paths"):
            net, paths = self._prune(net, plan.n_outputs, plan.budget, rows, rng, plan.share)
        return net, paths, structure

    def _fit_structure(self, net, rows, rng, generator, validation):
        """The warm-up of ``net`` on the :class:`_TrainingRows` ``rows``."""
        n_rows = rows.X.shape[0]
        with self._progress("structure", self.structure_max_epochs, "GLAI structure") as progress:
            structure = fit_structure(
                rows.X,
                rows.targets,
                rows.weights,
                rows.loss,
                net,
                alpha=self.alpha,
                batch_size=self._batch_size(n_rows),
                learning_rate_init=self.learning_rate_init,
                max_epochs=self.structure_max_epochs,
                tol=self.structure_tol,
                patience=self.structure_patience,
                probe_rows=choose_probe(n_rows, rng),
                generator=generator,
                gather_rows=rows.gather_rows,
                progress=progress,
                validation=validation,
            )
        if not structure.settled and not structure.gates_settled:
            warnings.warn(
                "The structural warm-up reached structure_max_epochs="
                f"{self.structure_max_epochs} before its gates settled (the last epoch "
                f"flipped {structure.change_curve[-1]:.2%} of the probe gates, "
                f"structure_tol={self.structure_tol}); raise structure_max_epochs or "
                "structure_tol.",
                ConvergenceWarning,
                stacklevel=5,
            )
        return structure

    def _prune(self, net, n_outputs, budget, rows, rng, share=False):
        """``(net, paths)``: the structural net the paths come from, and the kept paths.

        For softmax the net is a centred copy of ``net`` (the same
        probabilities, cheaper to prune); otherwise ``net`` itself.
        """
        if rows.loss == "softmax":
            net = center_softmax_outputs(net)
        probe = torch.as_tensor(choose_probe(rows.X.shape[0], rng), device=rows.X.device)
        X_probe, w_probe = rows.gather_rows(probe), rows.weights[probe]
        if not share:
            chains = select_paths(net, n_outputs, budget, X_probe, w_probe)
            return net, structural_path_set(net, *chains)
        # Shared blocks first, the dedicated paths in what they leave.
        shared = select_shared_units(net, n_outputs, budget, X_probe, w_probe)
        budget -= len(shared) * (rows.X.shape[1] + 1)
        chains = select_paths(net, n_outputs, budget, X_probe, w_probe)
        return net, structural_path_set(net, *chains, shared_units=shared)

    def _validation_scorer(self, validation, net, operator, loss):
        """``(loss, score)`` of given path values on the held-out rows.

        The loss is the training loss without the penalty (what early
        stopping judges); the score is accuracy or R^2 (what is reported).
        """
        X_v, T_v, w_v = validation
        acts = operator.activations(compute_gates(net, X_v))
        weight_total = w_v.sum()

        def evaluate(params):
            with torch.no_grad():
                outputs = operator.forward(X_v, acts, *params)
                mean_loss = (per_sample_loss(loss, outputs, T_v) * w_v).sum() / weight_total
                return float(mean_loss), float(_validation_score(loss, outputs, T_v, w_v))

        return evaluate

    def _progress(self, phase, total, description):
        """A context manager yielding the phase's progress callback (None when quiet)."""
        return phase_progress(self.verbose, phase, total, description)

    def _set_fitted(self, plan, net, structure, paths, monitor, solution, solver):
        """Every fitted attribute of a finished fit (raw-input ``net`` and ``paths``)."""
        for name, value in plan.target_state.items():
            setattr(self, name, value)
        self._set_structure_attributes(net, structure)
        self._set_path_attributes(paths, plan.n_outputs, plan.budget)
        self.shared_units_ = plan.share
        self.reduction_factor_ = plan.reduction_factor
        self._set_quantity_attributes(monitor, solution, solver)

    def _set_structure_attributes(self, net, structure):
        """The frozen structural net, and the warm-up's record when one ran."""
        self.structural_coefs_ = [to_numpy(w.T).copy() for w in net.weights]
        self.structural_intercepts_ = [to_numpy(b).copy() for b in net.biases]
        if structure is not None:
            self.structure_change_ = np.asarray(structure.change_curve)
            self.structure_loss_curve_ = list(structure.loss_curve)
            self.n_structure_epochs_ = structure.n_epochs
            self.structure_settled_ = structure.settled

    def _set_path_attributes(self, paths, n_outputs, budget):
        self.paths_ = paths
        self.n_outputs_ = int(n_outputs)
        self.n_params_ = paths.n_params
        self.param_budget_ = budget

    def _set_quantity_attributes(self, monitor, solution, solver):
        self.loss_curve_ = list(monitor.loss_curve)
        stopped_early = monitor.validation is not None
        self.validation_scores_ = list(monitor.validation_scores) if stopped_early else None
        self.validation_loss_curve_ = list(monitor.validation_losses) if stopped_early else None
        self.best_validation_score_ = monitor.best_score if stopped_early else None
        self.n_iter_ = int(solution.n_iter)
        self.alpha_ = float(solution.alpha)
        self.solver_ = solver

    # ---------------------------------------------------------------- predict
    def _structural_net(self, dtype, device):
        """The fitted structural net as tensors (torch layout) on ``device``."""
        weights = [torch.as_tensor(w.T, dtype=dtype, device=device) for w in self.structural_coefs_]
        biases = [
            torch.as_tensor(b, dtype=dtype, device=device) for b in self.structural_intercepts_
        ]
        return StructuralNet(weights, biases)

    def _raw_outputs(self, X):
        """Path-model outputs ``(n, K)`` as numpy, computed on the CPU in chunks."""
        check_is_fitted(self)
        X = validate_data(
            self, X, accept_sparse=["csr", "csc"], dtype=[np.float64, np.float32], reset=False
        )
        dtype = torch_dtype(self.paths_.theta.dtype)
        net = self._structural_net(dtype, "cpu")
        operator = PathOperator(self.paths_, self.n_outputs_, dtype, "cpu", net)
        theta = torch.from_numpy(self.paths_.stacked_theta())
        coef = torch.from_numpy(self.paths_.coef)
        n_paths = len(theta) + len(self.paths_.coef)
        chunk = max(256, PREDICT_CHUNK_ELEMENTS // max(n_paths, 1))
        outputs = np.empty((X.shape[0], self.n_outputs_), dtype=self.paths_.theta.dtype)
        with torch.no_grad():
            for start in range(0, X.shape[0], chunk):
                X_chunk = to_tensor(X[start : start + chunk], dtype, "cpu")
                acts = operator.activations(compute_gates(net, X_chunk))
                outputs[start : start + chunk] = to_numpy(
                    operator.forward(X_chunk, acts, theta, coef)
                )
        if not np.isfinite(outputs).all():
            raise ValueError(
                f"The model's outputs overflowed ({outputs.dtype} arithmetic) on some rows "
                "of X: their values are far outside the range seen in training. Check "
                "the input's scale."
            )
        return outputs

    def to_torch(self):
        """The fitted model as a :class:`torch.nn.Module` on the CPU.

        Returns
        -------
        module : skglai.nn.GLAIPathModel
            Computes the same outputs as :meth:`decision_function` (classifier,
            as a 2-d array) or :meth:`predict` (regressor).
        """
        model = self._fitted_view()
        from .nn import GLAIPathModel

        scale, offset = model._output_affine()
        return GLAIPathModel.from_arrays(
            model.structural_coefs_,
            model.structural_intercepts_,
            model.paths_,
            model.n_outputs_,
            scale,
            offset,
        )

    def _output_affine(self):
        return None, None

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


@dataclasses.dataclass(frozen=True)
class _ModelPlan:
    """What the data and the parameters fix about a fit's model before it trains."""

    n_outputs: int
    target_state: dict  # the encoded targets' fitted attributes (classes_, ...)
    hidden: tuple
    budget: int
    share: bool  # shared_units, resolved
    reduction_factor: float  # resolved


@dataclasses.dataclass(frozen=True)
class _WarmStart:
    """A previous fit's structure and paths, in the conditioned coordinates of this fit."""

    net: StructuralNet  # on this fit's device and dtype
    paths: object  # a PathSet, its values the previous fit's


@dataclasses.dataclass(frozen=True)
class _TrainingRows:
    """The training rows of one fit as tensors on its device, with one row gatherer
    for all three phases."""

    X: torch.Tensor
    targets: torch.Tensor
    weights: torch.Tensor
    loss: str
    gather_rows: object = None

    def __post_init__(self):
        if self.gather_rows is None:
            object.__setattr__(self, "gather_rows", row_gatherer(self.X))


class _FitData:
    """The validated arrays of one fit, and their tensors on the training device."""

    def __init__(self, X, targets, sample_weight, loss, dtype, device):
        self.X, self.targets, self.sample_weight = X, targets, sample_weight
        self.loss, self.dtype, self.device = loss, dtype, device

    def tensors(self, rows):
        return (
            to_tensor(self.X[rows], self.dtype, self.device),
            _target_tensor(self.targets[rows], self.loss, self.dtype, self.device),
            torch.as_tensor(self.sample_weight[rows], dtype=self.dtype, device=self.device),
        )

    def training_tensors(self, train, val):
        """Training rows; large inputs are not copied (held-out rows get zero weight)."""
        if val is None:
            return self.tensors(slice(None))
        if _nbytes(self.X) > MASK_VALIDATION_BYTES:
            X_t, T_t, w_t = self.tensors(slice(None))
            w_t = w_t.clone()  # it may share memory with sample_weight
            w_t[torch.as_tensor(val, device=self.device)] = 0
            return X_t, T_t, w_t
        return self.tensors(train)


@contextmanager
def _timed(times, phase):
    """Add the block's wall seconds to ``times[phase]`` (a phase may run in parts)."""
    start = time.perf_counter()
    yield
    times[phase] = times.get(phase, 0.0) + time.perf_counter() - start


def _is_dask_collection(X):
    """A Dask array or DataFrame, recognised without importing Dask."""
    return type(X).__module__.split(".")[0] == "dask" and hasattr(X, "__dask_graph__")


def _lazy_outputs(estimator, method, X):
    """``estimator.method(X)`` on a Dask collection: a lazy Dask array of its blocks."""
    from ._dask import predict_lazily

    return predict_lazily(estimator, method, X)


def _nbytes(X):
    if hasattr(X, "indices"):
        return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    return X.nbytes


def _target_tensor(targets, loss, dtype, device):
    if loss == "softmax":
        return torch.as_tensor(targets.ravel(), dtype=torch.int64, device=device)
    return torch.as_tensor(targets, dtype=dtype, device=device)


def _training_weights(sample_weight, val):
    """Sample weights with the validation rows at zero."""
    if val is None:
        return sample_weight
    weights = sample_weight.copy()
    weights[val] = 0
    return weights


def _blocks_to(change, theta):
    """Path blocks ``[w, b]`` (Q, D+1) mapped by a first-layer change of coordinates."""
    weights, bias = change(theta[:, :-1], theta[:, -1])
    return np.concatenate([weights, bias[:, None]], axis=1)


def _paths_to(change, paths):
    """A copy of ``paths`` whose blocks, dedicated and shared, are mapped by ``change``."""
    return dataclasses.replace(
        paths,
        theta=_blocks_to(change, paths.theta),
        shared_theta=_blocks_to(change, paths.shared_theta),
    )


def _first_layer_to(change, net):
    """A copy of ``net`` whose first layer is mapped by a change of coordinates."""
    weight, bias = (to_numpy(t) for t in (net.weights[0], net.biases[0]))
    weight, bias = change(weight, bias)
    like = net.weights[0]
    first = [torch.as_tensor(a, dtype=like.dtype, device=like.device) for a in (weight, bias)]
    return StructuralNet([first[0], *net.weights[1:]], [first[1], *net.biases[1:]])


def _validation_score(loss, outputs, targets, weights):
    """Accuracy (classification) or R^2 (regression), sample-weighted."""
    if loss == "softmax":
        # max over the classes of the (K, n) layout: argmax across a short last
        # dimension is slow on the CPU (first maximum on ties)
        correct = (outputs.T.max(dim=0).indices == targets).to(weights.dtype)
    elif loss == "logistic":
        correct = ((outputs > 0) == (targets > 0.5)).all(dim=1).to(weights.dtype)
    else:
        mean = (weights[:, None] * targets).sum(0) / weights.sum()
        residual = (weights[:, None] * (targets - outputs).pow(2)).sum(0)
        total = (weights[:, None] * (targets - mean).pow(2)).sum(0)
        r2 = torch.where(total > 0, 1 - residual / total.clamp_min(1e-300), torch.zeros_like(total))
        return r2.mean()
    return (correct * weights).sum() / weights.sum()
