"""GLAIClassifier and GLAIRegressor: thin layers over :class:`BaseGLAI`.

The classifier encodes labels and turns outputs into probabilities; the
regressor standardises targets. Everything else is shared.
"""

import warnings

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, softmax
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.exceptions import DataConversionWarning
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target

from ._base import BaseGLAI, _is_dask_collection, _lazy_outputs


class GLAIClassifier(ClassifierMixin, BaseGLAI):
    """GreenLightningAI classifier: a pruned, gate-frozen path model of an MLP.

    A ReLU MLP ``reduction_factor`` times narrower than ``hidden_layer_sizes``
    is trained until its activation patterns are stable; its gates are then
    frozen, the network is rewritten as a sum over input-to-output paths,
    pruned to the parameter count of the MLP with ``hidden_layer_sizes``, and
    only the path values are optimised, a convex problem.

    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers,), default=(100,)
        Hidden sizes of the MLP that GLAI replaces; they set the default
        parameter budget. The structural net has ``ceil(H / reduction_factor)``
        units per layer.
    reduction_factor : float >= 1, default=2
        How much narrower the structural warm-up net is than the replaced MLP.
    param_budget : 'mlp' or int, default='mlp'
        Maximum number of trained parameters. ``'mlp'`` uses the parameter
        count of the MLP with ``hidden_layer_sizes``.
    structure_max_epochs : int, default=30
        Hard cap on warm-up epochs.
    structure_tol : float in [0, 1], default=0.01
        Once the fraction of gates that flip in an epoch (on a fixed probe
        of training rows) has fallen to a quarter of its first epoch's, an
        epoch is stable when that fraction is below this value, or no longer
        falls by 10% on the lowest fraction so far (a plateau).
    structure_patience : int, default=1
        Consecutive stable epochs required to stop the warm-up. One is
        enough: measured on the benchmark data, waiting for a second cost
        16-23% of the fit time and gained no accuracy.
    solver : {'auto', 'lbfgs', 'adam', 'sgd'}, default='auto'
        Solver of the convex phase. ``'auto'`` picks ``'lbfgs'``; the choice
        is recorded in ``solver_``.
    alpha : float, default=1e-4
        Strength of the L2 penalty, as in MLPClassifier (divided by the total
        sample weight).
    batch_size : int or 'auto', default='auto'
        Minibatch size of the warm-up and of the minibatch solvers;
        ``'auto'`` is ``min(512, ceil(n_samples / 4))``: warm-up steps on a
        small net are overhead-bound, so fewer, larger steps (with a larger
        ``learning_rate_init`` than MLPClassifier's) train faster, but every
        epoch takes at least 4 steps, or the first epoch on small data flips
        too few gates to tell a settled structure from an untrained one.
    learning_rate_init : float, default=2e-3
        Adam step size of the warm-up, and of the minibatch solvers.
    max_iter : int, default=200
        Maximum iterations (L-BFGS) or epochs (adam, sgd) of the convex phase.
    tol : float, default=1e-4
        Tolerance of the convex phase's stopping rule.
    early_stopping : 'auto' or bool, default='auto'
        Hold out ``validation_fraction`` of the data (stratified) and keep the
        path values with the lowest validation loss (the training loss,
        unpenalised, on the held-out rows), the warm start included; each
        iterate is judged by its loss averaged with the previous iterate's.
        Unlike ``MLPClassifier``, which judges validation accuracy, the loss
        is smooth from one iterate to the next where accuracy on a few
        hundred rows is not, so the convex phase can stop after one
        iteration without improvement. ``'auto'`` enables it from 2000
        samples on: the convex refit starts at the warm-up's solution and
        overfits fast.
    validation_fraction : float in (0, 1), default=0.1
        Share of the training data held out for early stopping.
    n_iter_no_change : int, default=1
        Iterations without improvement of more than ``tol`` (of the windowed
        validation loss with early stopping, else of the training loss)
        before stopping. Fewer than ``MLPClassifier``'s 10: each iteration
        is a full pass over the data, and the validation loss is smooth and
        bottoms out early (on eight splits each of the benchmark's MNIST
        and tweet features, 3 kept the same iterate as 1, for two more
        passes).
    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, multiplied into ``sample_weight``.
    device : 'auto', 'cpu', 'cuda', 'cuda:N' or torch.device, default='auto'
        Where training runs. ``'auto'`` takes CUDA when available. Prediction
        always runs on the CPU from numpy arrays.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling, the probe rows and the validation
        split.
    verbose : int, default=0
        Print progress when positive.
    warm_start : bool, default=False
        Reuse the fitted structure and paths and continue the convex phase
        from the fitted path values.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (``arange(n_labels)`` for multilabel targets).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names, when ``X`` had string column names.
    n_outputs_ : int
        Number of outputs: 1 for binary problems, else classes or labels.
    n_params_ : int
        Number of trained parameters of the path model.
    param_budget_ : int
        The budget the path model was pruned to.
    structure_change_ : ndarray of shape (`n_structure_epochs_`,)
        Fraction of probe gates that flipped in each warm-up epoch.
    structure_loss_curve_ : list of float
        Warm-up training loss per epoch.
    n_structure_epochs_ : int
        Warm-up epochs run.
    structure_settled_ : bool
        Whether the warm-up stopped because the gates were stable.
    structural_coefs_, structural_intercepts_ : list of ndarray
        Frozen weights of the structural net, ``(fan_in, fan_out)`` layout
        (for multiclass problems with each unit's output weights centred at
        their median over the classes: the same probabilities).
    paths_ : PathSet
        The kept paths and their trained values.
    loss_curve_ : list of float
        Objective per iteration of the convex phase.
    validation_scores_ : list of float or None
        Validation accuracy per iteration, with early stopping.
    validation_loss_curve_ : list of float or None
        Validation loss per iteration (what early stopping judges), with
        early stopping.
    best_validation_score_ : float or None
        Validation accuracy of the kept path values, with early stopping.
    n_iter_ : int
        Iterations run by the convex phase.
    solver_ : str
        The solver used (what ``'auto'`` resolved to).
    fit_times_ : dict
        Wall seconds of the ``'structure'``, ``'paths'`` and ``'quantities'``
        phases.
    device_ : str
        Device the model was trained on.

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
    True
    """

    _parameter_constraints = {
        **BaseGLAI._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        *,
        reduction_factor=2,
        param_budget="mlp",
        structure_max_epochs=30,
        structure_tol=0.01,
        structure_patience=1,
        solver="auto",
        alpha=1e-4,
        batch_size="auto",
        learning_rate_init=2e-3,
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
    ):
        super().__init__(
            hidden_layer_sizes,
            reduction_factor=reduction_factor,
            param_budget=param_budget,
            structure_max_epochs=structure_max_epochs,
            structure_tol=structure_tol,
            structure_patience=structure_patience,
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
            sample_weight = sample_weight * compute_sample_weight(self.class_weight, y)
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
        scores = self._raw_outputs(X)
        return scores.ravel() if self._is_binary else scores

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
        scores = self._raw_outputs(X)
        if self._multilabel:
            return (scores > 0).astype(int)
        if self._is_binary:
            return self.classes_[(scores.ravel() > 0).astype(int)]
        return self.classes_[scores.argmax(axis=1)]

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            For multilabel targets, the probability of each label.
        """
        if _is_dask_collection(X):
            return _lazy_outputs(self, "predict_proba", X)
        scores = self._raw_outputs(X)
        if self._multilabel:
            return expit(scores)
        if self._is_binary:
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
        kinds = {isinstance(label, str) for label in y.ravel()}
        if len(kinds) > 1:
            raise ValueError(
                "Mix of label input types (string and number) in y: use labels of one type."
            )


class GLAIRegressor(RegressorMixin, BaseGLAI):
    """GreenLightningAI regressor: a pruned, gate-frozen path model of an MLP.

    Same method as :class:`GLAIClassifier`, with the squared error. Targets
    are standardised internally (sample-weighted) and predictions mapped back.

    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers,), default=(100,)
        Hidden sizes of the MLP that GLAI replaces.
    reduction_factor : float >= 1, default=2
        How much narrower the structural warm-up net is.
    param_budget : 'mlp' or int, default='mlp'
        Maximum number of trained parameters.
    structure_max_epochs : int, default=30
        Hard cap on warm-up epochs.
    structure_tol : float in [0, 1], default=0.01
        Gate flip fraction below which an epoch counts as stable (once the
        flip curve has fallen to a quarter of its first value).
    structure_patience : int, default=1
        Consecutive stable epochs required to stop the warm-up. One is
        enough: measured on the benchmark data, waiting for a second cost
        16-23% of the fit time and gained no accuracy.
    solver : {'auto', 'lstsq', 'lbfgs', 'adam', 'sgd'}, default='auto'
        Solver of the convex phase. ``'auto'`` picks ``'lstsq'`` (exact
        ridge: Cholesky on the normal equations, or preconditioned conjugate
        gradients) when there are at least 64 training rows per path
        parameter, else ``'lbfgs'``: with fewer rows the exact optimum can
        extrapolate wildly (on one draw of 10,000 rows of diamonds R^2 0.80
        against L-BFGS's 0.97). The choice is recorded in ``solver_``. With
        early stopping the Cholesky solve is repeated for the penalties
        ``alpha * 10**k``, ``k = 0, ..., 6``, and the values with the lowest
        validation loss are kept, as :class:`~sklearn.linear_model.RidgeCV`
        chooses its penalty: at the MLP's ``alpha`` the exact optimum is
        barely regularised (diamonds: R^2 0.9800 on one split, 0.9883 with
        the chosen penalty).
    alpha : float, default=1e-4
        Strength of the L2 penalty (divided by the total sample weight).
    batch_size : int or 'auto', default='auto'
        Minibatch size; ``'auto'`` is ``min(512, ceil(n_samples / 4))``, as
        in :class:`GLAIClassifier`.
    learning_rate_init : float, default=2e-3
        Adam step size of the warm-up and the minibatch solvers.
    max_iter : int, default=200
        Maximum iterations or epochs of the convex phase.
    tol : float, default=1e-4
        Tolerance of the convex phase's stopping rule.
    early_stopping : 'auto' or bool, default='auto'
        Keep the path values with the lowest validation squared error, the
        warm start included (each iterate judged, as in
        :class:`GLAIClassifier`, with the previous one). ``'auto'`` enables
        it from 200 samples on: the exact optimum of a small squared-error
        problem overfits badly (R^2 -0.80 on diabetes without it, 0.42 with
        it).
    validation_fraction : float in (0, 1), default=0.1
        Share of the data held out for early stopping.
    n_iter_no_change : int, default=1
        Iterations without improvement before stopping (each is a full
        pass), as in :class:`GLAIClassifier`.
    device : 'auto', 'cpu', 'cuda', 'cuda:N' or torch.device, default='auto'
        Where training runs.
    random_state : int, RandomState instance or None, default=None
        Seeds all randomness of the fit.
    verbose : int, default=0
        Print progress when positive.
    warm_start : bool, default=False
        Continue from the fitted structure and path values.

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names, when ``X`` had string column names.
    n_outputs_ : int
        Number of targets.
    n_params_ : int
        Number of trained parameters of the path model.
    param_budget_ : int
        The budget the path model was pruned to.
    structure_change_ : ndarray
        Fraction of probe gates that flipped in each warm-up epoch.
    n_structure_epochs_ : int
        Warm-up epochs run.
    loss_curve_ : list of float
        Objective per iteration of the convex phase (standardised targets).
    validation_scores_ : list of float or None
        Validation R^2 per iteration, with early stopping.
    validation_loss_curve_ : list of float or None
        Validation loss (half the squared error on standardised targets) per
        iteration, with early stopping.
    best_validation_score_ : float or None
        Validation R^2 of the kept path values, with early stopping.
    n_iter_ : int
        Iterations run by the convex phase.
    solver_ : str
        The solver used.
    fit_times_ : dict
        Wall seconds per phase.
    device_ : str
        Device the model was trained on.

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
    (2,)
    """

    _y_numeric = True
    # early_stopping='auto' holds out from fewer samples than for classifiers:
    # the convex optimum of a small squared-error problem overfits far worse
    # than an MLP does (diabetes, 330 training rows, eight splits: R^2 -0.80
    # without early stopping, 0.42 with it, against MLPRegressor's 0.40), and
    # R^2 on 20 held-out rows still ranks iterates.
    _early_stopping_auto_samples = 200

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        *,
        reduction_factor=2,
        param_budget="mlp",
        structure_max_epochs=30,
        structure_tol=0.01,
        structure_patience=1,
        solver="auto",
        alpha=1e-4,
        batch_size="auto",
        learning_rate_init=2e-3,
        max_iter=200,
        tol=1e-4,
        early_stopping="auto",
        validation_fraction=0.1,
        n_iter_no_change=1,
        device="auto",
        random_state=None,
        verbose=0,
        warm_start=False,
    ):
        super().__init__(
            hidden_layer_sizes,
            reduction_factor=reduction_factor,
            param_budget=param_budget,
            structure_max_epochs=structure_max_epochs,
            structure_tol=structure_tol,
            structure_patience=structure_patience,
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
        )

    def _encode_targets(self, y, sample_weight):
        y = np.asarray(y, dtype=np.float64)
        targets = y.reshape(len(y), -1)
        w = sample_weight / sample_weight.sum()
        mean = w @ targets
        scale = np.sqrt(w @ (targets - mean) ** 2)
        scale[scale <= 1e-12 * np.maximum(np.abs(mean), 1.0)] = 1.0
        state = {"_y_mean": mean, "_y_scale": scale, "_y_1d": y.ndim == 1}
        return (targets - mean) / scale, "squared", sample_weight, state

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
        outputs = self._raw_outputs(X) * self._y_scale + self._y_mean
        return outputs.ravel() if self._y_1d else outputs

    def _output_affine(self):
        return self._y_scale, self._y_mean

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
