"""Bad input is rejected before training, with a message naming the problem."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from skglai import GLAIClassifier, GLAIRegressor

FAST = dict(hidden_layer_sizes=(8,), structure_max_epochs=2, max_iter=5, random_state=0)
rng = np.random.RandomState(0)
X = rng.randn(40, 3)
y = np.arange(40) % 2


def with_nan(a):
    a = a.astype(float).copy()
    a.flat[3] = np.nan
    return a


def with_inf(a):
    a = a.astype(float).copy()
    a.flat[3] = np.inf
    return a


@pytest.mark.parametrize("Estimator", [GLAIClassifier, GLAIRegressor])
@pytest.mark.parametrize(
    "X_bad, y_bad, match",
    [
        (with_nan(X), y, "NaN"),
        (with_inf(X), y, "infinity"),
        (X, with_nan(y), "NaN"),
        (X, with_inf(y), "infinity|Unknown label"),
        (X[:30], y, "inconsistent numbers of samples"),
        (X[:, :, None], y, "3|dim"),
        (np.empty((0, 3)), np.empty(0), "0 sample"),
        (np.array([["a", "b", "c"]] * 40), y, "could not convert|numeric|string"),
    ],
)
def test_bad_data(Estimator, X_bad, y_bad, match):
    with pytest.raises(ValueError, match=match):
        Estimator(**FAST).fit(X_bad, y_bad)


def test_one_class():
    with pytest.raises(ValueError, match="at least 2 classes"):
        GLAIClassifier(**FAST).fit(X, np.zeros(40))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"reduction_factor": 0}, "reduction_factor"),
        ({"solver": "newton"}, "solver"),
        ({"device": "tpu"}, "device"),
        ({"hidden_layer_sizes": (0,)}, "hidden_layer_sizes"),
        ({"param_budget": 3}, "param_budget"),
        ({"alpha": -1.0}, "alpha"),
        ({"solver": "lstsq"}, "lstsq"),
    ],
)
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        GLAIClassifier(**{**FAST, **params}).fit(X, y)


def test_cuda_requested_without_cuda():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match="CUDA is not available"):
        GLAIClassifier(**FAST, device="cuda").fit(X, y)


def test_negative_or_zero_sample_weights():
    with pytest.raises(ValueError, match="[Nn]egative"):
        GLAIClassifier(**FAST).fit(X, y, sample_weight=-np.ones(40))
    with pytest.raises(ValueError, match="sums to zero|non-zero"):
        GLAIClassifier(**FAST).fit(X, y, sample_weight=np.zeros(40))


@pytest.mark.parametrize("method", ["predict", "predict_proba", "decision_function"])
def test_predict_before_fit(method):
    with pytest.raises(NotFittedError):
        getattr(GLAIClassifier(), method)(X)


def test_wrong_feature_count_at_predict():
    clf = GLAIClassifier(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :2])


@pytest.mark.parametrize(
    "X_bad, y_bad",
    [(with_nan(X), y), (X, np.zeros(40)), (X[:10], y)],
)
def test_failed_refit_leaves_model_untouched(X_bad, y_bad):
    clf = GLAIClassifier(**FAST).fit(X, y)
    before = dict(vars(clf))
    proba = clf.predict_proba(X)
    with pytest.raises(ValueError):
        clf.fit(X_bad, y_bad)
    assert set(vars(clf)) == set(before)
    assert all(vars(clf)[k] is before[k] for k in before)
    np.testing.assert_array_equal(clf.predict_proba(X), proba)


def test_early_stopping_split_error_names_the_users_setting():
    # A class of one sample cannot be stratified: True says so, 'auto' fits without a split.
    X_big = rng.randn(400, 3)
    y_big = np.r_[np.arange(399) % 2, 2]
    clf = GLAIClassifier(**FAST, early_stopping=True)
    with pytest.raises(ValueError, match="early_stopping=True could not hold out"):
        clf.fit(X_big, y_big)
    auto = clf.set_params(early_stopping="auto").fit(X_big, y_big)
    assert auto.validation_scores_ is None
    assert GLAIClassifier(**FAST).fit(X_big[:-1], y_big[:-1]).validation_scores_ is not None


def test_none_labels_are_not_called_numbers():
    labels = np.array(["a", None] * 20, dtype=object)
    with pytest.raises(ValueError, match="None labels") as info:
        GLAIClassifier(**FAST).fit(X, labels)
    assert "number" not in str(info.value)


def test_boolean_param_budget_is_rejected():
    with pytest.raises(ValueError, match="param_budget must be 'mlp' or a positive int; got True"):
        GLAIClassifier(**FAST, param_budget=True).fit(X, y)
    for budget in (False, np.True_):  # caught by the parameter constraints
        with pytest.raises(ValueError, match="param_budget"):
            GLAIClassifier(**FAST, param_budget=budget).fit(X, y)


@pytest.mark.parametrize(
    "class_weight, message",
    [
        ({0: -0.5, 1: 1.0}, "non-negative"),
        ({0: np.nan, 1: 1.0}, "non-negative"),
        ({0: 0.0, 1: 0.0}, "zero weight"),
    ],
)
def test_bad_class_weights_are_rejected(class_weight, message):
    with pytest.raises(ValueError, match=message):
        GLAIClassifier(**FAST, class_weight=class_weight).fit(X, y)


def test_sample_and_class_weights_that_cancel_are_rejected():
    # each is fine alone; together they leave no weight (a ZeroDivisionError in the warm-up)
    sample_weight = (y == 1).astype(float)
    with pytest.raises(ValueError, match="together give every sample a zero weight"):
        GLAIClassifier(**FAST, class_weight={0: 1.0, 1: 0.0}).fit(X, y, sample_weight)
