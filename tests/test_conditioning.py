"""Input conditioning is an exact change of coordinates, undone in the fitted model."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone

from skglai import GLAIClassifier, GLAIRegressor
from skglai._conditioning import InputConditioner

FAST = dict(
    hidden_layer_sizes=(16,),
    structure_max_epochs=4,
    max_iter=30,
    early_stopping=False,
    random_state=0,
)


def _data(seed=0, n=300, d=6):
    rng = np.random.RandomState(seed)
    # Features on very different scales and offsets, as raw embeddings or tables come.
    X = rng.randn(n, d) * np.logspace(-2, 2, d) + rng.randn(d) * 5
    z = (X - X.mean(0)) / X.std(0)
    return X, z, (z[:, 0] - z[:, 1] + 0.5 * z[:, 2] > 0).astype(int), z @ rng.randn(d)


def test_conditioned_fit_equals_a_fit_on_standardised_input():
    X, Z, y, _ = _data()
    conditioned = GLAIClassifier(**FAST, input_conditioning="standard").fit(X, y)
    by_hand = GLAIClassifier(**FAST, input_conditioning="none").fit(Z, y)
    np.testing.assert_allclose(
        conditioned.decision_function(X), by_hand.decision_function(Z), rtol=1e-6, atol=1e-7
    )


def test_regressor_conditioned_fit_equals_a_fit_on_standardised_input():
    X, Z, _, target = _data(1)
    conditioned = GLAIRegressor(**FAST, input_conditioning="standard").fit(X, target)
    by_hand = GLAIRegressor(**FAST, input_conditioning="none").fit(Z, target)
    np.testing.assert_allclose(conditioned.predict(X), by_hand.predict(Z), rtol=1e-6, atol=1e-6)


def test_sparse_input_is_scaled_not_centred():
    X, _, y, _ = _data(2)
    X = np.where(np.abs(X) < np.median(np.abs(X), axis=0), 0.0, X)
    scaled = X / np.sqrt((X**2).mean(0) - X.mean(0) ** 2)
    sparse = GLAIClassifier(**FAST, input_conditioning="standard").fit(sp.csr_matrix(X), y)
    by_hand = GLAIClassifier(**FAST, input_conditioning="none").fit(sp.csr_matrix(scaled), y)
    np.testing.assert_allclose(
        sparse.decision_function(sp.csr_matrix(X)),
        by_hand.decision_function(sp.csr_matrix(scaled)),
        rtol=1e-6,
        atol=1e-7,
    )


def test_global_conditioning_keeps_relative_scales():
    X, _, y, _ = _data(5)
    conditioner = InputConditioner.fit(X, np.ones(len(X)), "global")
    Z = conditioner.transform(X)
    np.testing.assert_allclose(Z.mean(0), 0, atol=1e-9)
    np.testing.assert_allclose((Z**2).mean(), 1.0)  # unit variance on average
    np.testing.assert_allclose(Z.std(0) / Z.std(0)[0], X.std(0) / X.std(0)[0])
    conditioned = GLAIClassifier(**FAST).fit(X, y)  # 'global' is the default
    by_hand = GLAIClassifier(**FAST, input_conditioning="none").fit(Z, y)
    np.testing.assert_allclose(
        conditioned.decision_function(X), by_hand.decision_function(Z), rtol=1e-6, atol=1e-7
    )


def test_to_raw_and_back_is_the_identity_and_preserves_outputs():
    rng = np.random.RandomState(0)
    X = rng.randn(50, 4) * [1, 10, 0.1, 3] + [2, -1, 0, 7]
    conditioner = InputConditioner.fit(X, np.ones(50), "standard")
    W, b = rng.randn(3, 4), rng.randn(3)
    raw_W, raw_b = conditioner.to_raw(W, b)
    np.testing.assert_allclose(conditioner.transform(X) @ W.T + b, X @ raw_W.T + raw_b)
    back_W, back_b = conditioner.to_conditioned(raw_W, raw_b)
    np.testing.assert_allclose(back_W, W)
    np.testing.assert_allclose(back_b, b)


def test_weighted_statistics_and_constant_columns():
    X = np.array([[1.0, 5.0], [3.0, 5.0], [3.0, 5.0]])
    conditioner = InputConditioner.fit(X, np.array([2.0, 1.0, 1.0]), "standard")
    np.testing.assert_allclose(conditioner.mean, [2.0, 5.0])
    np.testing.assert_allclose(conditioner.scale, [1.0, 1.0])  # the constant column keeps 1
    assert np.isfinite(conditioner.transform(X)).all()


def test_validation_rows_do_not_enter_the_statistics():
    X = np.arange(10, dtype=float)[:, None]
    weights = np.ones(10)
    weights[5:] = 0
    conditioner = InputConditioner.fit(X, weights, "standard")
    assert conditioner.mean[0] == pytest.approx(2.0)


def test_float32_input_is_conditioned_in_float32():
    X, _, y, _ = _data(3)
    # Features three decades apart in scale, all informative: each needs its own scale.
    clf = GLAIClassifier(**FAST, input_conditioning="standard").fit(X.astype(np.float32), y)
    assert clf.paths_.theta.dtype == np.float32
    assert clf.score(X.astype(np.float32), y) > 0.8


def test_warm_start_continues_in_the_refit_coordinates():
    X, _, y, _ = _data(4)
    clf = GLAIClassifier(**FAST, warm_start=True).fit(X, y)
    before = clf.decision_function(X)
    # No convex iteration: the warm start must come back unchanged through both changes.
    clf.set_params(max_iter=1, tol=1e9)
    clf.fit(X, y)
    assert clone(clf).get_params()["input_conditioning"] == "global"
    np.testing.assert_allclose(clf.decision_function(X), before, rtol=1e-2, atol=1e-2)


def _three_classes(Z):
    score = Z[:, 0] - Z[:, 1] + 0.5 * Z[:, 2]
    return np.digitize(score, np.quantile(score, [1 / 3, 2 / 3]))


def test_shared_blocks_are_folded_like_the_path_blocks():
    X, Z, _, _ = _data(5)
    y = _three_classes(Z)
    conditioned = GLAIClassifier(**FAST, shared_units=True, input_conditioning="standard").fit(X, y)
    by_hand = GLAIClassifier(**FAST, shared_units=True, input_conditioning="none").fit(Z, y)
    assert conditioned.paths_.n_shared > 0
    np.testing.assert_allclose(
        conditioned.decision_function(X), by_hand.decision_function(Z), rtol=1e-6, atol=1e-7
    )


def test_shared_blocks_warm_start_in_the_refit_coordinates():
    X, Z, _, _ = _data(6)
    y = _three_classes(Z)
    clf = GLAIClassifier(**FAST, shared_units=True, warm_start=True).fit(X, y)
    assert clf.paths_.n_shared > 0
    before = clf.decision_function(X)
    clf.set_params(max_iter=1, tol=1e9)
    clf.fit(X, y)
    np.testing.assert_allclose(clf.decision_function(X), before, rtol=1e-2, atol=1e-2)
