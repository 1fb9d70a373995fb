"""GLAIClassifier and GLAIRegressor: thin layers over :class:`BaseGLAI`.

The classifier encodes labels and turns outputs into probabilities; the
regressor standardises targets. Everything else is shared.
"""

import warnings
from numbers import Real

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, softmax
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.exceptions import DataConversionWarning
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target

from ._base import BaseGLAI, _is_dask_collection, _lazy_outputs
from ._docstrings import build_docstring


class GLAIClassifier(ClassifierMixin, BaseGLAI):
    __doc__ = build_docstring(
        intro="""\
GreenLightningAI classifier: a pruned, gate-frozen path model of an MLP.

A ReLU MLP ``reduction_factor`` times narrower than ``hidden_layer_sizes``
is trained until its activation patterns are stable; its gates are then
frozen, the network is rewritten as a sum over input-to-output paths,
pruned to the parameter count of the MLP with ``hidden_layer_sizes``, and
only the path values are optimised, a convex problem.""",
        parameters={
            "solver": """\
solver : {'auto', 'lbfgs', 'adam', 'sgd'}, default='auto'
    Solver of the convex phase. ``'auto'`` picks ``'lbfgs'``; the choice
    is recorded in ``solver_``.""",
            "early_stopping": """\
early_stopping : 'auto' or bool, default='auto'
    Hold out ``validation_fraction`` of the data (stratified) and keep the
    path values with the lowest validation loss (the training loss,
    unpenalised, on the held-out rows), the warm start included; each
    iterate is judged by its loss averaged with the previous iterate's.
    Unlike ``MLPClassifier``, which judges validation accuracy, the loss
    is smooth from one iterate to the next where accuracy on a few
    hundred rows is not, so the convex phase can stop after one
    iteration without improvement. ``'auto'`` enables it from 200
    samples on, where a stratified split is possible and gives at least
    5 validation rows per class on average: the convex refit starts at
    the warm-up's solution and overfits fast, while one or two held-out
    rows a class (few-shot data) rank iterates by noise.""",
            "class_weight": """\
class_weight : dict, 'balanced' or None, default=None
    Weights of the classes, multiplied into ``sample_weight``.""",
        },
        attributes={
            "classes_": """\
classes_ : ndarray of shape (n_classes,)
    Class labels (``arange(n_labels)`` for multilabel targets).""",
            "n_outputs_": """\
n_outputs_ : int
    Number of outputs: 1 for binary problems, else classes or labels.""",
            "structural_coefs_": """\
structural_coefs_, structural_intercepts_ : list of ndarray
    Frozen weights and biases of the structural net, weights in the
    ``(fan_in, fan_out)`` layout of scikit-learn's ``coefs_`` (for
    multiclass problems with each unit's output weights centred at their
    median over the classes: the same probabilities).""",
        },
        score="accuracy",
        tail="""\
See Also
--------
GLAIRegressor : The regression counterpart.
sklearn.neural_network.MLPClassifier : The MLP that GLAI replaces.

Examples
--------
>>> from sklearn.datasets import load_iris
>>> from skglai import GLAIClassifier
>>> X, y = load_iris(return_X_y=True)
>>> clf = GLAIClassifier(hidden_layer_sizes=(32,), random_state=0).fit(X, y)
>>> clf.predict(X[:3])
array([0, 0, 0])
>>> bool(clf.n_params_ <= clf.param_budget_)
True""",
    )

    _parameter_constraints = {
        **BaseGLAI._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }
    _private_fitted = ("_multilabel",)
    _auto_shares_units = True

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
        class_weight=None,
        device="auto",
        random_state=None,
        verbose=0,
        warm_start=False,
        shared_units="auto",
    ):
        super().__init__(
            hidden_layer_sizes,
            reduction_factor=reduction_factor,
            param_budget=param_budget,
            structure_max_epochs=structure_max_epochs,
            structure_tol=structure_tol,
            structure_patience=structure_patience,
            input_conditioning=input_conditioning,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate_init=learning_rate_init,
            max_iter=max_iter,
            tol=tol,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            device=device,
            random_state=random_state,
            verbose=verbose,
            warm_start=warm_start,
            shared_units=shared_units,
        )
        self.class_weight = class_weight

    def _encode_targets(self, y, sample_weight):
        if sp.issparse(y):
            y = y.toarray()
        _check_label_types(y)
        check_classification_targets(y)
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected.",
                DataConversionWarning,
                stacklevel=4,
            )
            y = y.ravel()
        if type_of_target(y) == "multilabel-indicator":
            if self.class_weight is not None:
                raise ValueError("class_weight is not supported for multilabel targets.")
            classes = np.arange(y.shape[1])
            state = {"classes_": classes, "_multilabel": True}
            return y.astype(np.float64), "logistic", sample_weight, state
        classes, encoded = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                f"GLAIClassifier needs samples of at least 2 classes in the data; "
                f"got only one class: {classes[0]!r}."
            )
        if self.class_weight is not None:
            sample_weight = sample_weight * _class_weights(self.class_weight, y)
        state = {"classes_": classes, "_multilabel": False}
        if len(classes) == 2:
            return encoded[:, None].astype(np.float64), "logistic", sample_weight, state
        return encoded[:, None], "softmax", sample_weight, state

    def _stratify(self, y):
        return None if y.ndim == 2 else y

    def decision_function(self, X):
        """Raw outputs of the path model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,) for binary problems, else (n_samples, n_outputs)
        """
        if _is_dask_collection(X):
            return _lazy_outputs(self, "decision_function", X)
        model = self._fitted_view()
        scores = model._raw_outputs(X)
        return scores.ravel() if model._is_binary else scores

    @property
    def _is_binary(self):
        return self.n_outputs_ == 1

    def predict(self, X):
        """Predicted class labels (or label indicator matrix for multilabel).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
        """
        if _is_dask_collection(X):
            return _lazy_outputs(self, "predict", X)
        model = self._fitted_view()
        scores = model._raw_outputs(X)
        if model._multilabel:
            return (scores > 0).astype(int)
        if model._is_binary:
            return model.classes_[(scores.ravel() > 0).astype(int)]
        return model.classes_[scores.argmax(axis=1)]

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            For multilabel targets, the probability of each label, in float64
            and strictly between 0 and 1.
        """
        if _is_dask_collection(X):
            return _lazy_outputs(self, "predict_proba", X)
        model = self._fitted_view()
        scores = model._raw_outputs(X)
        if model._multilabel:
            # Each label's probability stays strictly inside (0, 1) (expit rounds
            # to exactly 1 from a score of 17 in float32, 37 in float64).
            proba = expit(scores.astype(np.float64))
            return np.clip(proba, np.finfo(np.float64).tiny, 1 - np.finfo(np.float64).epsneg)
        if model._is_binary:
            p = expit(scores.ravel())
            return np.column_stack([1 - p, p])
        return softmax(scores, axis=1)

    def predict_log_proba(self, X):
        """Logarithm of the class probabilities.

        Computed as ``log(predict_proba(X))``, as MLPClassifier does, so the
        two always agree (an underflowed probability gives ``-inf``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        if _is_dask_collection(X):
            return _lazy_outputs(self, "predict_log_proba", X)
        proba = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(proba, out=proba)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


def _check_label_types(y):
    """Labels must be all strings or all numbers (numpy cannot even sort a mix)."""
    if y.dtype == object:
        kinds = {_label_kind(label) for label in y.ravel()}
        if "None" in kinds:
            raise ValueError("y contains None labels: every sample needs a class label.")
        if len(kinds) > 1:
            raise ValueError(
                f"Mix of label input types ({' and '.join(sorted(kinds))}) in y: use "
                "labels of one type."
            )


def _label_kind(label):
    if label is None:
        return "None"
    return "string" if isinstance(label, str) else "number"


def _class_weights(class_weight, y):
    """Per-sample weights from ``class_weight``: finite, non-negative, not all zero."""
    if isinstance(class_weight, dict):
        bad = {
            k: v
            for k, v in class_weight.items()
            if isinstance(v, bool) or not isinstance(v, Real) or not (np.isfinite(v) and v >= 0)
        }
        if bad:
            raise ValueError(
                f"class_weight must map classes to finite non-negative numbers; got {bad!r}."
            )
    weights = compute_sample_weight(class_weight, y)
    if not weights.sum() > 0:
        raise ValueError(
            f"class_weight={class_weight!r} gives every sample a zero weight: at least "
            "one class present in y needs a positive weight."
        )
    return weights


class GLAIRegressor(RegressorMixin, BaseGLAI):
    __doc__ = build_docstring(
        intro="""\
GreenLightningAI regressor: a pruned, gate-frozen path model of an MLP.

Same method as :class:`GLAIClassifier`, with the squared error. Targets
are standardised internally (sample-weighted) and predictions mapped back.""",
        parameters={
            "solver": """\
solver : {'auto', 'lstsq', 'lbfgs', 'adam', 'sgd'}, default='auto'
    Solver of the convex phase. ``'auto'`` picks ``'lstsq'`` (exact
    ridge: Cholesky on the normal equations, or preconditioned conjugate
    gradients) when there are at least 64 training rows per path
    parameter, else ``'lbfgs'``: with fewer rows the exact optimum can
    extrapolate wildly. The choice is recorded in ``solver_``. With
    early stopping the Cholesky solve is repeated for the penalties
    ``alpha * 10**k``, ``k = 0, ..., 6``, and the values with the lowest
    validation loss are kept, as :class:`~sklearn.linear_model.RidgeCV`
    chooses its penalty: at the MLP's ``alpha`` the exact optimum is
    barely regularised.""",
            "early_stopping": """\
early_stopping : 'auto' or bool, default='auto'
    Keep the path values with the lowest validation squared error, the
    warm start included (each iterate judged, as in
    :class:`GLAIClassifier`, with the previous one). ``'auto'`` enables
    it from 200 samples on: the exact optimum of a small squared-error
    problem overfits badly.""",
        },
        attributes={
            "n_outputs_": """\
n_outputs_ : int
    Number of targets.""",
            "loss_curve_": """\
loss_curve_ : list of float
    Objective per iteration of the convex phase (standardised targets).""",
            "validation_loss_curve_": """\
validation_loss_curve_ : list of float or None
    Validation loss (half the squared error on standardised targets) per
    iteration, with early stopping.""",
        },
        score="R^2",
        tail="""\
See Also
--------
GLAIClassifier : The classification counterpart.
sklearn.neural_network.MLPRegressor : The MLP that GLAI replaces.

Examples
--------
>>> from sklearn.datasets import load_diabetes
>>> from skglai import GLAIRegressor
>>> X, y = load_diabetes(return_X_y=True)
>>> reg = GLAIRegressor(hidden_layer_sizes=(32,), random_state=0).fit(X, y)
>>> reg.predict(X[:2]).shape
(2,)""",
    )

    _y_numeric = True
    _private_fitted = ("_y_mean", "_y_scale", "_y_1d")

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
        super().__init__(
            hidden_layer_sizes,
            reduction_factor=reduction_factor,
            param_budget=param_budget,
            structure_max_epochs=structure_max_epochs,
            structure_tol=structure_tol,
            structure_patience=structure_patience,
            input_conditioning=input_conditioning,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate_init=learning_rate_init,
            max_iter=max_iter,
            tol=tol,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            device=device,
            random_state=random_state,
            verbose=verbose,
            warm_start=warm_start,
            shared_units=shared_units,
        )

    def _encode_targets(self, y, sample_weight):
        y = np.asarray(y, dtype=np.float64)
        targets = y.reshape(len(y), -1)
        w = sample_weight / sample_weight.sum()
        with np.errstate(over="ignore", invalid="ignore"):
            mean = w @ targets
            # an exactly constant column is its value (a weighted mean may round off it)
            mean = np.where((targets == targets[:1]).all(axis=0), targets[0], mean)
            centred = targets - mean
            # The standard deviation through the largest deviation, so that
            # squares neither overflow (1e160) nor underflow (1e-170).
            peak = np.abs(centred).max(axis=0)
            safe_peak = np.where(peak > 0, peak, 1.0)
            scale = peak * np.sqrt(w @ (centred / safe_peak) ** 2)
        if not (np.isfinite(mean).all() and np.isfinite(scale).all()):
            raise ValueError(
                "y is too large to standardise in float64 (its mean or spread "
                "overflows); rescale the targets."
            )
        # A column constant up to rounding is predicted as its mean exactly.
        constant = scale <= 1e-12 * np.abs(mean)
        fit_scale = np.where(constant, 1.0, scale)
        state = {
            "_y_mean": mean,
            "_y_scale": np.where(constant, 0.0, scale),
            "_y_1d": y.ndim == 1,
        }
        return np.where(constant, 0.0, centred / fit_scale), "squared", sample_weight, state

    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        if _is_dask_collection(X):
            return _lazy_outputs(self, "predict", X)
        model = self._fitted_view()
        outputs = model._raw_outputs(X) * model._y_scale + model._y_mean
        return outputs.ravel() if model._y_1d else outputs

    def _output_affine(self):
        return self._y_scale, self._y_mean

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
