"""Property-based: any input is either fitted correctly or refused with a ValueError."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skglai import GLAIClassifier, GLAIRegressor

FAST = dict(
    hidden_layer_sizes=(4,), structure_max_epochs=2, max_iter=3, random_state=0, device="cpu"
)

X_DTYPES = [np.float64, np.float32, np.int64, np.int8, bool, object, complex]
LABEL_KINDS = ["str", "negative_int", "float", "bool", "mixed", "continuous", "nan"]
SPARSE = [None, "csr", "csc", "coo", "lil", "dok"]


@st.composite
def inputs(draw):
    n = draw(st.integers(0, 25))
    d = draw(st.integers(0, 4))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.RandomState(seed)
    dtype = draw(st.sampled_from(X_DTYPES))
    X = rng.randn(n, d) * draw(st.sampled_from([1.0, 1e3]))
    if dtype is object:
        X = X.astype(str).astype(object) if draw(st.booleans()) else X.astype(object)
    elif dtype is complex:
        X = X + 1j
    else:
        X = X.astype(dtype)
    sparse = draw(st.sampled_from(SPARSE)) if dtype not in (object, complex) and d > 0 else None
    if sparse is not None:
        X = (
            sp.random(n, d, density=0.5, random_state=seed, format=sparse)
            if n > 0
            else sp.csr_matrix((0, d))
        )
    if draw(st.booleans()) and dtype in (np.float64, np.float32) and sparse is None and X.size:
        X.flat[0] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    kind = draw(st.sampled_from(LABEL_KINDS))
    k = draw(st.integers(1, 3))
    codes = rng.randint(0, k, size=n)
    y = {
        "str": np.array(["cat", "dog", "emu"], dtype=object)[codes],
        "negative_int": -codes - 1,
        "float": codes * 0.5,
        "bool": codes.astype(bool),
        "mixed": np.array(["a", 1, 2.5], dtype=object)[codes],
        "continuous": rng.randn(n),
        "nan": np.where(codes == 0, np.nan, codes),
    }[kind]
    return X, y


def _fit_or_value_error(estimator, X, y):
    try:
        estimator.fit(X, y)
    except ValueError:
        return None
    return estimator


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inputs())
def test_classifier_fits_or_raises_value_error(data):
    X, y = data
    clf = _fit_or_value_error(GLAIClassifier(**FAST), X, y)
    if clf is not None:
        pred = clf.predict(X)
        assert len(pred) == X.shape[0]
        assert set(np.unique(pred)) <= set(clf.classes_)
        proba = clf.predict_proba(X)
        assert np.isfinite(proba).all()
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inputs())
def test_regressor_fits_or_raises_value_error(data):
    X, y = data
    reg = _fit_or_value_error(GLAIRegressor(**FAST), X, y)
    if reg is not None:
        pred = reg.predict(X)
        assert pred.shape == (X.shape[0],)
        assert np.isfinite(pred).all()


@pytest.mark.parametrize("Estimator", [GLAIClassifier, GLAIRegressor])
def test_complex_input_is_refused(Estimator):
    X = np.ones((10, 2)) + 1j
    with pytest.raises(ValueError, match="[Cc]omplex"):
        Estimator(**FAST).fit(X, np.arange(10) % 2)


def test_mixed_label_types_are_refused():
    X = np.random.RandomState(0).randn(6, 2)
    with pytest.raises(ValueError, match="[Mm]ix|type"):
        GLAIClassifier(**FAST).fit(X, np.array(["a", 1, "a", 1, 2.5, "a"], dtype=object))


def test_wrong_feature_names_at_predict():
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(np.random.RandomState(0).randn(20, 2), columns=["a", "b"])
    clf = GLAIClassifier(**FAST).fit(X, np.arange(20) % 2)
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(X.rename(columns={"a": "z"}))


def test_early_stopping_split_too_small_for_every_class():
    X = np.random.RandomState(0).randn(30, 2)
    y = np.arange(30) % 10
    with pytest.raises(ValueError, match="early_stopping"):
        GLAIClassifier(**FAST, early_stopping=True, validation_fraction=0.1).fit(X, y)


def test_non_finite_sample_weight_is_refused():
    X = np.random.RandomState(0).randn(20, 2)
    w = np.ones(20)
    w[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        GLAIClassifier(**FAST).fit(X, np.arange(20) % 2, sample_weight=w)
