"""Fit and predict on Dask arrays, on a ``dask.distributed`` cluster.

Imported only when a Dask collection reaches ``fit`` or a prediction method.
The warm-up needs a sample of rows, not all of them, and the convex phase is
a sum over rows (DESIGN.md, section 6), so a fit:

1. persists the encoded blocks on the workers (features, targets, training
   and validation weights; the validation rows are a seeded Bernoulli mask
   drawn per block, so nothing is shuffled);
2. pulls a seeded, bounded row sample of the training rows to the client and
   runs the warm-up and the pruning on it, as in memory;
3. solves the convex phase on the client with the in-memory solvers, through
   :class:`DaskProblem`: every full pass broadcasts the path values, maps
   each block to its loss and gradient sums (or its normal-equation pieces)
   on the workers and reduces them there; only the sums come back.

Prediction is ``map_blocks`` over the fitted NumPy model.
"""

import math
import uuid

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_feature_names, assert_all_finite, check_is_fitted

from ._backend import make_generator, resolve_device, torch_dtype
from ._base import _first_layer_to, _ModelPlan, _paths_to, _target_tensor, _timed, _TrainingRows
from ._base import _is_dask_collection as is_dask_collection
from ._conditioning import InputConditioner
from ._losses import loss_and_output_gradient, per_sample_loss
from ._paths import PathOperator, PathSet, compute_gates, is_output_bias
from ._solvers import (
    CHUNK_ELEMENTS,
    DIRECT_MAX_FLOPS,
    DIRECT_MAX_PARAMS,
    ConvexProblem,
    _normal_equations,
    resolve_solver,
)
from ._structure import StructuralNet

# The warm-up and the pruning run on at most this many training rows, and at
# most this many bytes of features, pulled to the client: they settle the
# gates, which a sample settles as well as all rows (doc/scaling.rst).
WARMUP_SAMPLE_ROWS = 100_000
WARMUP_SAMPLE_BYTES = 64 << 20
# Partial sums of a pass are added this many at a time on the workers.
REDUCE_FAN_IN = 8

_INSTALL_HINT = "Install the Dask extra: pip install 'skglai[dask]'."


# ---------------------------------------------------------------- inputs
def _import_dask():
    try:
        import dask.array as da
    except ImportError as exc:  # pragma: no cover - a Dask object implies Dask
        raise ImportError(
            f"Fitting on Dask collections needs dask[array]. {_INSTALL_HINT}"
        ) from exc
    return da


def _get_client():
    try:
        from distributed import get_client
    except ImportError as exc:
        raise ImportError(
            f"Fitting on a Dask array needs dask.distributed. {_INSTALL_HINT}"
        ) from exc
    try:
        return get_client()
    except ValueError as exc:
        raise RuntimeError(
            "Fitting on a Dask array needs a running dask.distributed client: start one "
            "first (from dask.distributed import Client; client = Client(...)). Prediction "
            "on a Dask array needs none: it returns a lazy array."
        ) from exc


def _as_dask_array(est, X, *, reset, for_fit):
    """A 2-d floating Dask array, one chunk across the columns; feature names checked."""
    da = _import_dask()
    if hasattr(X, "dtypes") and hasattr(X, "columns"):  # a Dask DataFrame
        from pandas.api.types import is_bool_dtype, is_numeric_dtype

        non_numeric = [
            c for c, t in X.dtypes.items() if not (is_numeric_dtype(t) or is_bool_dtype(t))
        ]
        if non_numeric:
            raise ValueError(
                f"GLAI needs numeric columns; the Dask DataFrame has non-numeric "
                f"columns {non_numeric[:5]}."
            )
        _check_feature_names(est, X._meta, reset=reset)  # the empty pandas frame of its columns
        X = X.to_dask_array(lengths=True if for_fit else None)
    elif hasattr(X, "__dask_graph__") and hasattr(X, "chunks"):
        _check_feature_names(est, X, reset=reset)
    else:
        X = da.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-d Dask array for X; got {X.ndim} dimension(s).")
    if for_fit and any(math.isnan(c) for c in X.chunks[0]):
        raise ValueError(
            "X is a Dask array with unknown chunk sizes (after filtering or from a "
            "DataFrame's .values): call X.compute_chunk_sizes() first, or build it with "
            "DataFrame.to_dask_array(lengths=True)."
        )
    if X.dtype not in (np.float32, np.float64):
        if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
            raise ValueError(f"X must be numeric; got dtype {X.dtype}.")
        X = X.astype(np.float64)
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    return X


def _aligned(da, values, chunks, name):
    """``values`` (Dask or NumPy) as a Dask array with the row chunks of X."""
    if values is None:
        return None
    if is_dask_collection(values):
        if hasattr(values, "to_dask_array"):
            values = values.to_dask_array(lengths=True)
        if any(math.isnan(c) for c in values.chunks[0]):
            raise ValueError(f"{name} is a Dask array with unknown chunk sizes.")
    else:
        values = np.asarray(values)
    if values.shape[0] != sum(chunks):
        raise ValueError(
            f"X and {name} have inconsistent numbers of samples: {sum(chunks)} and "
            f"{values.shape[0]}."
        )
    if is_dask_collection(values):
        return values.rechunk({0: chunks, **{d: -1 for d in range(1, values.ndim)}})
    return da.from_array(values, chunks=(chunks, *values.shape[1:]))


# ------------------------------------------------------------- targets
def _encode_targets(est, y, sample_weight, da):
    """``(encoding, loss, n_outputs, state)``: what each block does to its targets."""
    if est._y_numeric:
        return _encode_regression(y, sample_weight, da)
    return _encode_classes(est, y, da)


def _encode_classes(est, y, da):
    if y.ndim == 2 and y.shape[1] > 1:  # label indicator matrix
        if est.class_weight is not None:
            raise ValueError("class_weight is not supported for multilabel targets.")
        labels = np.unique(da.unique(y).compute())
        if not np.isin(labels, [0, 1]).all():
            raise ValueError(f"Multilabel targets must be 0/1; got values {labels[:10]}.")
        state = {"classes_": np.arange(y.shape[1]), "_multilabel": True}
        return ("indicator", None, None), "logistic", y.shape[1], state
    classes = np.unique(da.unique(y.ravel()).compute())
    check_classification_targets(classes)
    if len(classes) < 2:
        raise ValueError(
            f"GLAIClassifier needs samples of at least 2 classes in the data; "
            f"got only one class: {classes[0]!r}."
        )
    class_weights = None
    if est.class_weight == "balanced":
        counts = da.bincount(_encode_labels_lazily(y.ravel(), classes)).compute()
        class_weights = y.shape[0] / (len(classes) * counts[: len(classes)].astype(np.float64))
    elif est.class_weight is not None:
        class_weights = compute_class_weight(est.class_weight, classes=classes, y=classes)
    state = {"classes_": classes, "_multilabel": False}
    if len(classes) == 2:
        return ("binary", classes, class_weights), "logistic", 1, state
    return ("classes", classes, class_weights), "softmax", len(classes), state


def _encode_labels_lazily(y, classes):
    return y.map_blocks(lambda block: np.searchsorted(classes, block), dtype=np.int64)


def _encode_regression(y, sample_weight, da):
    y = y.astype(np.float64)
    targets = y.reshape(y.shape[0], -1) if y.ndim == 1 else y
    w = da.ones(y.shape[0], chunks=y.chunks[0]) if sample_weight is None else sample_weight
    total, first, second = da.compute(
        w.sum(), (w[:, None] * targets).sum(0), (w[:, None] * targets**2).sum(0)
    )
    mean = first / total
    scale = np.sqrt(np.maximum(second / total - mean**2, 0.0))
    scale[scale <= 1e-12 * np.maximum(np.abs(mean), 1.0)] = 1.0
    state = {"_y_mean": mean, "_y_scale": scale, "_y_1d": y.ndim == 1}
    return ("standardise", (mean, scale), None), "squared", targets.shape[1], state


def _encode_block(y, encoding):
    """Targets of one block as the in-memory fit encodes them, and per-row class weights."""
    kind, info, class_weights = encoding
    if kind == "standardise":
        mean, scale = info
        return (np.asarray(y, dtype=np.float64).reshape(len(y), -1) - mean) / scale, None
    if kind == "indicator":
        return np.asarray(y, dtype=np.float64), None
    y = np.asarray(y).ravel()
    codes = np.searchsorted(info, y)
    if (codes >= len(info)).any() or (info[np.minimum(codes, len(info) - 1)] != y).any():
        raise ValueError("A block holds labels that were not found when listing the classes.")
    row_weights = None if class_weights is None else class_weights[codes]
    if kind == "binary":
        return codes[:, None].astype(np.float64), row_weights
    return codes, row_weights


# -------------------------------------------------------------- worker side
def _pack_block(x, y, w, index, encoding, validation_fraction, seed, dtype):
    """Validate and encode one block; it stays on its worker for the whole fit."""
    x = np.ascontiguousarray(x, dtype=dtype)
    assert_all_finite(x, input_name="X")
    targets, class_rows = _encode_block(y, encoding)
    w = np.ones(len(x)) if w is None else np.asarray(w, dtype=np.float64)
    if (w < 0).any():
        raise ValueError("Negative values in sample_weight are not allowed.")
    if class_rows is not None:
        w = w * class_rows
    if validation_fraction:
        held_out = np.random.default_rng([seed, index]).random(len(x)) < validation_fraction
    else:
        held_out = np.zeros(len(x), dtype=bool)
    return {
        "X": x,
        "T": targets,
        "w_train": np.where(held_out, 0.0, w),
        "w_val": np.where(held_out, w, 0.0),
    }


def _block_summary(block):
    return np.array(
        [
            np.count_nonzero(block["w_val"] == 0),
            block["w_train"].sum(),
            np.count_nonzero(block["w_val"]),
            block["w_val"].sum(),
        ]
    )


def _sample_block(block, probability, seed, index):
    """The block's training rows kept by a seeded Bernoulli draw."""
    training = block["w_val"] == 0
    if probability < 1:
        training &= np.random.default_rng([seed, index, 1]).random(len(training)) < probability
    return block["X"][training], block["T"][training], block["w_train"][training]


_CONTEXTS = {}


def _context(ctx):
    """The structural net and path operator of a fit, built once per worker."""
    built = _CONTEXTS.get(ctx["token"])
    if built is None:
        dtype = torch_dtype(ctx["dtype"])
        net = StructuralNet(
            [torch.as_tensor(w, dtype=dtype) for w in ctx["weights"]],
            [torch.as_tensor(b, dtype=dtype) for b in ctx["biases"]],
        )
        operator = PathOperator(ctx["paths"], ctx["n_outputs"], dtype, "cpu", net)
        _CONTEXTS.clear()  # one fit's context at a time per worker
        built = _CONTEXTS[ctx["token"]] = (net, operator, dtype)
    return built


def _block_tensors(block, ctx):
    net, operator, dtype = _context(ctx)
    X = torch.from_numpy(block["X"])
    targets = torch.from_numpy(block["T"])
    if ctx["loss"] != "softmax":
        targets = targets.to(dtype)
    return net, operator, dtype, X, targets


def _pass_block(block, ctx, params, gradient):
    """Loss sums (and the gradient sum) of one block, with its validation statistics.

    The block is walked in row ranges of the in-memory solver's chunk size,
    which bounds the ``(n_paths, rows)`` intermediates on the worker.
    """
    torch.set_num_threads(1)  # the cluster's workers and threads are the parallelism
    net, operator, dtype, X, targets = _block_tensors(block, ctx)
    theta, coef = (torch.as_tensor(p, dtype=dtype) for p in params)
    w_train = torch.from_numpy(block["w_train"]).to(dtype)
    w_val = torch.from_numpy(block["w_val"]).to(dtype)
    n_paths = len(theta) + len(coef)
    step = max(256, CHUNK_ELEMENTS // max(n_paths, 1))
    loss, parts = ctx["loss"], []
    with torch.no_grad():
        for start in range(0, X.shape[0], step):
            rows = slice(start, start + step)
            parts.append(
                _pass_rows(
                    net,
                    operator,
                    loss,
                    X[rows],
                    targets[rows],
                    w_train[rows],
                    w_val[rows],
                    theta,
                    coef,
                    gradient,
                )
            )
    return _add(*parts)


def _pass_rows(net, operator, loss, X, targets, w_train, w_val, theta, coef, gradient):
    acts = operator.activations(compute_gates(net, X))
    outputs = operator.forward(X, acts, theta, coef)
    if gradient:
        losses, grad_out = loss_and_output_gradient(loss, outputs, targets)
        losses = losses.clone()  # the transpose may reuse grad_out's storage
        grad_theta, grad_coef = operator.transpose(X, acts, grad_out * w_train[:, None])
        grad = torch.cat([grad_theta.reshape(-1), grad_coef]).double().numpy()
    else:
        losses, grad = per_sample_loss(loss, outputs, targets), np.zeros(0)
    return {
        "loss": np.array([float(losses.double() @ w_train.double())]),
        "grad": grad,
        "val": _validation_sums(loss, outputs, targets, losses, w_val),
    }


def _validation_sums(loss, outputs, targets, losses, w_val):
    """Sums from which the validation loss and score of the whole array follow."""
    w = w_val.double()
    if loss == "softmax":
        correct = (outputs.T.max(dim=0).indices == targets).double()
    elif loss == "logistic":
        correct = ((outputs > 0) == (targets > 0.5)).all(dim=1).double()
    else:
        t, o = targets.double(), outputs.double()
        return np.concatenate(
            [
                [float(losses.double() @ w), float(w.sum())],
                (w @ t).numpy(),
                (w @ t.pow(2)).numpy(),
                (w @ (t - o).pow(2)).numpy(),
            ]
        )
    return np.array([float(losses.double() @ w), float(w.sum()), float(correct @ w)])


def _normal_block(block, ctx, theta):
    """``_normal_equations`` of one block (training weights), in float64."""
    torch.set_num_threads(1)
    net, operator, dtype, X, targets = _block_tensors(block, ctx)
    theta = torch.as_tensor(theta, dtype=dtype)
    weights = torch.from_numpy(block["w_train"]).to(dtype)
    with torch.no_grad():
        local = ConvexProblem(
            operator,
            X,
            compute_gates(net, X),
            targets,
            weights,
            ctx["loss"],
            0.0,
            torch.zeros(len(ctx["paths"].coef), dtype=dtype),
        )
        gram, rhs = _normal_equations(local, theta)
    return {"gram": gram.double().numpy(), "rhs": rhs.double().numpy()}


def _add(*parts):
    total = {}
    for part in parts:
        for key, value in part.items():
            total[key] = value if key not in total else total[key] + value
    return total


# -------------------------------------------------------------- client side
class DaskProblem:
    """The convex problem of :mod:`skglai._solvers` over blocks on Dask workers.

    Exposes what the full-batch solvers call (:meth:`full_objective_and_grad`,
    :meth:`full_objective`, :meth:`normal_equations`, :meth:`penalty_mask`),
    priced exactly as :class:`~skglai._solvers.ConvexProblem` prices them.
    Every pass also sums the validation statistics, so the validation of the
    iterate just evaluated costs no second pass.
    """

    def __init__(self, client, blocks, ctx, summary, loss, alpha, penalised, dtype, device):
        self.client, self.blocks, self.loss = client, blocks, loss
        self.alpha, self.penalised, self.dtype, self.device = alpha, penalised, dtype, device
        self.ctx = client.scatter(ctx, broadcast=True, hash=False)
        self.n_samples = int(summary[0])
        self.weight_total = float(summary[1])
        self.n_validation, self.validation_weight = int(summary[2]), float(summary[3])
        self._last = None  # (flat params, validation sums) of the latest pass

    def _reduce(self, futures):
        while len(futures) > 1:
            futures = [
                self.client.submit(_add, *futures[i : i + REDUCE_FAN_IN], pure=False)
                for i in range(0, len(futures), REDUCE_FAN_IN)
            ]
        return futures[0].result()

    def _pass(self, params, gradient):
        values = [p.detach().cpu().numpy() for p in params]
        scattered = self.client.scatter(values, broadcast=True, hash=False)
        futures = self.client.map(
            _pass_block, self.blocks, ctx=self.ctx, params=scattered, gradient=gradient, pure=False
        )
        sums = self._reduce(futures)
        self._last = (_flat(params), sums["val"])
        return sums

    def penalty_mask(self, theta):
        ones = torch.ones(theta.numel(), dtype=theta.dtype, device=theta.device)
        return torch.cat([ones, self.penalised])

    def penalty(self, params):
        theta, coef = params
        flat_theta, penalised_coef = theta.reshape(-1), coef * self.penalised
        return 0.5 * self.alpha * float(flat_theta @ flat_theta + penalised_coef @ penalised_coef)

    def full_objective_and_grad(self, params):
        theta, coef = params
        sums = self._pass(params, gradient=True)
        value = (float(sums["loss"][0]) + self.penalty(params)) / self.weight_total
        grad = torch.as_tensor(sums["grad"], dtype=self.dtype, device=self.device)
        decay = torch.cat([theta.reshape(-1), coef * self.penalised]) * self.alpha
        return value, (grad + decay) / self.weight_total

    def full_objective(self, params):
        sums = self._pass(params, gradient=False)
        return (float(sums["loss"][0]) + self.penalty(params)) / self.weight_total

    def normal_equations(self, theta):
        """``(Phi^T W Phi) * same_output`` and ``Phi^T W t``, summed over the blocks."""
        values = self.client.scatter(theta.detach().cpu().numpy(), broadcast=True, hash=False)
        futures = self.client.map(
            _normal_block, self.blocks, ctx=self.ctx, theta=values, pure=False
        )
        sums = self._reduce(futures)
        return (
            torch.as_tensor(sums["gram"], dtype=self.dtype, device=self.device),
            torch.as_tensor(sums["rhs"], dtype=self.dtype, device=self.device),
        )

    def validate(self, params):
        """``(loss, score)`` on the held-out rows, as the in-memory fit scores them."""
        if self._last is None or not torch.equal(self._last[0], _flat(params)):
            self._pass(params, gradient=False)
        sums = self._last[1]
        mean_loss = sums[0] / sums[1]
        if self.loss != "squared":
            return float(mean_loss), float(sums[2] / sums[1])
        k = (len(sums) - 2) // 3
        first, second, residual = sums[2 : 2 + k], sums[2 + k : 2 + 2 * k], sums[2 + 2 * k :]
        total = second - first**2 / sums[1]
        r2 = np.where(total > 0, 1 - residual / np.maximum(total, 1e-300), 0.0)
        return float(mean_loss), float(r2.mean())

    @property
    def weights(self):
        raise ValueError(
            "This solver needs the rows in memory; on a Dask array the convex phase "
            "runs 'lbfgs' or the direct 'lstsq' solve (with alpha > 0)."
        )


def _flat(params):
    return torch.cat([p.detach().reshape(-1) for p in params])


def _lost_worker(exc):
    """The clear error for a fit abandoned because the cluster lost work, else None."""
    from distributed.client import FutureCancelledError
    from distributed.comm import CommClosedError
    from distributed.scheduler import KilledWorker

    if not isinstance(exc, (KilledWorker, FutureCancelledError, CommClosedError)):
        return None
    return RuntimeError(
        f"A Dask worker was lost during the fit ({type(exc).__name__}: {exc}); the fit "
        "was abandoned and the estimator left as it was before. Dask recomputes lost "
        "blocks on other workers up to the scheduler's "
        "'distributed.scheduler.allowed-failures' times before giving up."
    )


# ---------------------------------------------------------------------- fit
def fit_dask(est, X, y, sample_weight):
    """``est.fit(X, y, sample_weight)`` on Dask collections (see the module docstring)."""
    da = _import_dask()
    client = _get_client()
    X = _as_dask_array(est, X, reset=True, for_fit=True)
    if y is None:
        raise ValueError("requires y to be passed, but the target y is None.")
    rows = X.chunks[0]
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X is empty: shape {X.shape}; GLAI needs samples and features.")
    y = _aligned(da, y, rows, "y")
    if y.ndim == 2 and y.shape[1] == 1 and not est._y_numeric:
        y = y[:, 0]
    sample_weight = _aligned(da, sample_weight, rows, "sample_weight")
    est.n_features_in_ = X.shape[1]
    if est.solver in ("adam", "sgd"):
        raise ValueError(
            f"solver={est.solver!r} draws minibatches of rows at random, which a Dask "
            "array does not allow cheaply; use solver='auto', 'lbfgs' or 'lstsq'."
        )

    hidden = est._hidden_sizes()
    device = resolve_device(est.device)
    dtype = torch_dtype(X.dtype)
    encoding, loss, n_outputs, target_state = _encode_targets(est, y, sample_weight, da)
    budget = est._budget(X.shape[1], hidden, n_outputs)
    rng = check_random_state(est.random_state)
    early = est._uses_early_stopping(X.shape[0], n_outputs if loss == "softmax" else None)
    split_seed = rng.randint(np.iinfo(np.int32).max) if early else 0
    generator = make_generator(rng.randint(np.iinfo(np.int32).max), "cpu")

    blocks = _persist_blocks(
        client,
        da,
        X,
        y,
        sample_weight,
        encoding,
        est.validation_fraction if early else 0.0,
        split_seed,
    )
    try:
        summaries = client.gather(client.map(_block_summary, blocks, pure=False))
        summary = np.sum(summaries, axis=0)
        if not summary[1] > 0:
            raise ValueError(
                "sample_weight sums to zero on the training rows: at least one sample "
                "needs a positive weight."
            )
        if early and not summary[3] > 0:
            raise ValueError(
                f"early_stopping=True held out no weighted validation rows of "
                f"{X.shape[0]} samples (validation_fraction={est.validation_fraction})."
            )
        plan = _ModelPlan(
            n_outputs,
            target_state,
            hidden,
            budget,
            est._shares_units(n_outputs),
            est._reduction_factor(loss, n_outputs),
        )
        return _fit_on_blocks(
            est, client, blocks, summary, X, loss, plan, dtype, device, rng, generator, early
        )
    except Exception as exc:
        error = _lost_worker(exc)
        if error is None:
            raise
        raise error from exc
    finally:
        client.cancel(blocks)


def _persist_blocks(client, da, X, y, sample_weight, encoding, fraction, seed):
    import dask

    x_parts = X.to_delayed().ravel()
    y_parts = y.to_delayed().ravel()
    w_parts = [None] * len(x_parts) if sample_weight is None else sample_weight.to_delayed().ravel()
    packed = [
        dask.delayed(_pack_block)(xb, yb, wb, i, encoding, fraction, seed, X.dtype)
        for i, (xb, yb, wb) in enumerate(zip(x_parts, y_parts, w_parts))
    ]
    return client.compute(packed)


def _warmup_sample(client, blocks, summary, n_features, itemsize, rng):
    """Training rows for the warm-up: all of them, or a seeded Bernoulli sample.

    Each block keeps each training row with the same probability, so the
    sample has about ``WARMUP_SAMPLE_ROWS`` rows (fewer for wide rows); a
    draw above the bound is cut to it at random.
    """
    n_train = int(summary[0])
    limit = int(min(WARMUP_SAMPLE_ROWS, max(1024, WARMUP_SAMPLE_BYTES // (n_features * itemsize))))
    probability, seed = 1.0, 0
    if n_train > limit:
        probability, seed = limit / n_train, rng.randint(np.iinfo(np.int32).max)
    parts = client.gather(
        client.map(
            _sample_block,
            blocks,
            probability=probability,
            seed=seed,
            index=list(range(len(blocks))),
            pure=False,
        )
    )
    X, T, w = (np.concatenate(column) for column in zip(*parts))
    if len(X) > limit:
        keep = np.sort(np.random.default_rng(seed).choice(len(X), size=limit, replace=False))
        X, T, w = X[keep], T[keep], w[keep]
    return X, T, w


def _fit_on_blocks(
    est, client, blocks, summary, X, loss, plan, dtype, device, rng, generator, early
):
    times = {}
    with _timed(times, "structure"):
        X_s, T_s, w_s = _warmup_sample(client, blocks, summary, X.shape[1], X.dtype.itemsize, rng)
        # Conditioned by the sample's statistics: any fixed affine map is undone exactly.
        conditioner = InputConditioner.fit(X_s, w_s, est.input_conditioning)
        X_s = conditioner.transform(X_s)
        validation = None
        if early:  # the warm-up's learning rule judges the sample's own held-out rows
            held = np.random.default_rng(rng.randint(2**31)).random(len(X_s))
            held = held < est.validation_fraction
            validation = (
                torch.as_tensor(X_s[held], dtype=dtype, device=device),
                _target_tensor(T_s[held], loss, dtype, device),
                torch.as_tensor(w_s[held], dtype=dtype, device=device),
            )
            X_s, T_s, w_s = X_s[~held], T_s[~held], w_s[~held]
        rows = _TrainingRows(
            torch.as_tensor(X_s, dtype=dtype, device=device),
            _target_tensor(T_s, loss, dtype, device),
            torch.as_tensor(w_s, dtype=dtype, device=device),
            loss,
        )
    net, paths, structure = est._structure_and_paths(
        rows, validation, plan, conditioner, rng, generator, times
    )
    with _timed(times, "paths"):
        del rows, X_s, T_s, w_s
        # The workers hold raw rows: the convex phase works in raw coordinates.
        net = _first_layer_to(conditioner.to_raw, net)
        paths = _paths_to(conditioner.to_raw, paths)

    with _timed(times, "quantities"):
        solver = _dask_solver(est.solver, loss, int(summary[0]), paths.n_params)
        params = [
            torch.as_tensor(values, dtype=dtype, device=device).clone()
            for values in (paths.stacked_theta(), paths.coef)
        ]
        penalised = ~is_output_bias(paths.scalar_chains, net.hidden_sizes)
        ctx = {
            "token": uuid.uuid4().hex,
            "dtype": X.dtype,
            "loss": loss,
            "n_outputs": plan.n_outputs,
            "weights": [w.detach().cpu().numpy() for w in net.weights],
            "biases": [b.detach().cpu().numpy() for b in net.biases],
            "paths": PathSet(
                paths.block_chains,
                paths.block_outputs,
                np.zeros((0, paths.theta.shape[1])),
                paths.scalar_chains,
                paths.scalar_outputs,
                np.zeros(len(paths.coef)),
                paths.shared_units,
                np.zeros((len(paths.shared_units), paths.theta.shape[1])),
            ),
        }
        problem = DaskProblem(
            client,
            blocks,
            ctx,
            summary,
            loss,
            est.alpha,
            torch.as_tensor(penalised, dtype=dtype, device=device),
            dtype,
            device,
        )
        scorer = problem.validate if early else None
        monitor, solution = est._quantities(solver, problem, params, scorer, generator)

    fitted_paths = paths.with_values(*(p.cpu().numpy() for p in solution.params))
    est._set_fitted(plan, net, structure, fitted_paths, monitor, solution, solver)
    est.fit_times_, est.device_ = times, str(device)
    return est


def _dask_solver(solver, loss, n_rows, n_params):
    """The solver on a Dask array: 'lbfgs', or the direct ridge solve where it applies."""
    resolved = resolve_solver(solver, loss, n_rows, n_params)
    direct = n_params <= DIRECT_MAX_PARAMS and n_rows * n_params**2 <= DIRECT_MAX_FLOPS
    if resolved == "lstsq" and not direct:
        if solver == "lstsq":
            raise ValueError(
                f"solver='lstsq' on a Dask array forms the normal equations, which needs "
                f"at most {DIRECT_MAX_PARAMS} parameters and {DIRECT_MAX_FLOPS:.0e} "
                f"rows x parameters^2 (here {n_params} parameters, {n_rows} rows); use "
                "solver='lbfgs' or 'auto'."
            )
        return "lbfgs"
    return resolved


# ------------------------------------------------------------------ predict
def predict_lazily(est, method, X):
    """``getattr(est, method)`` mapped over the row blocks of a Dask array: a lazy array."""
    check_is_fitted(est)
    feature_names = getattr(est, "feature_names_in_", None)
    X = _as_dask_array(est, X, reset=False, for_fit=False)
    if X.shape[1] != est.n_features_in_:
        raise ValueError(
            f"X has {X.shape[1]} features, but {type(est).__name__} is expecting "
            f"{est.n_features_in_} features as input."
        )
    probe = _call_on_block(np.zeros((1, X.shape[1]), dtype=X.dtype), est, method, feature_names)
    kwargs = {"dtype": probe.dtype, "est": est, "method": method, "names": feature_names}
    if probe.ndim == 1:
        return X.map_blocks(_call_on_block, drop_axis=1, **kwargs)
    return X.map_blocks(_call_on_block, chunks=(X.chunks[0], (probe.shape[1],)), **kwargs)


def _call_on_block(block, est, method, names):
    if not block.flags.writeable:  # torch warns on read-only arrays (shared Dask blocks)
        block = block.copy()
    if names is not None:
        import pandas as pd

        block = pd.DataFrame(block, columns=names)
    return getattr(est, method)(block)
