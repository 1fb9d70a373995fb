"""Divergence, interrupted fits, determinism and concurrent use."""

import hashlib
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from joblib import Parallel, delayed

from skglai import GLAIClassifier, GLAIRegressor

FAST = dict(hidden_layer_sizes=(16,), structure_max_epochs=4, max_iter=20, random_state=0)


def test_minibatch_divergence_is_a_clear_error_and_keeps_the_old_model(small_classification):
    X, y = small_classification
    clf = GLAIClassifier(**FAST).fit(X, y)
    before = clf.predict_proba(X)
    # warm_start skips the warm-up, so the divergence is the convex phase's.
    clf.set_params(solver="sgd", learning_rate_init=1e300, warm_start=True)
    with pytest.raises(ValueError, match="quantitative phase .sgd. diverged"):
        clf.fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), before)
    assert clf.solver_ == "lbfgs" and clf.get_params()["solver"] == "sgd"


def test_warm_up_divergence_is_detected(small_regression):
    X, y = small_regression
    reg = GLAIRegressor(**{**FAST, "learning_rate_init": 1e150})
    with pytest.raises(ValueError, match="diverged"):
        reg.fit(X * 1e150, y)


def test_predictions_are_finite(small_classification):
    X, y = small_classification
    clf = GLAIClassifier(**FAST).fit(X, y)
    assert np.isfinite(clf.predict_proba(X * 1e6)).all()


class Interrupt(KeyboardInterrupt):
    pass


@pytest.mark.parametrize(
    "target", ["skglai._structure.flip_fraction", "skglai._solvers.Monitor.record"]
)
def test_interrupted_refit_leaves_model_untouched(small_classification, target, monkeypatch):
    """A keyboard interrupt in the middle of either phase (simulated in a per-epoch callback)."""
    X, y = small_classification
    clf = GLAIClassifier(**FAST).fit(X, y)
    state = dict(vars(clf))
    proba = clf.predict_proba(X)

    def interrupt(*args, **kwargs):
        raise Interrupt

    monkeypatch.setattr(target, interrupt)
    with pytest.raises(Interrupt):
        clf.set_params(hidden_layer_sizes=(24,)).fit(X[::-1], y[::-1])
    monkeypatch.undo()
    clf.set_params(hidden_layer_sizes=(16,))
    assert set(vars(clf)) == set(state)
    assert all(vars(clf)[k] is v for k, v in state.items() if k != "hidden_layer_sizes")
    np.testing.assert_array_equal(clf.predict_proba(X), proba)


def test_bit_identical_across_fits_and_processes(small_classification):
    X, y = small_classification
    digest = hashlib.sha256(GLAIClassifier(**FAST).fit(X, y).predict_proba(X).tobytes()).hexdigest()
    again = hashlib.sha256(GLAIClassifier(**FAST).fit(X, y).predict_proba(X).tobytes()).hexdigest()
    assert digest == again
    script = textwrap.dedent(
        f"""
        import hashlib, numpy as np, torch
        torch.set_num_threads(1)
        from skglai import GLAIClassifier
        rng = np.random.RandomState(0)
        X = rng.randn(240, 6)
        y = (X[:, 0] + 0.5 * X[:, 1] ** 2 - X[:, 2] > 0.3).astype(int) + (X[:, 3] > 1)
        clf = GLAIClassifier(**{FAST!r}).fit(X, y)
        print(hashlib.sha256(clf.predict_proba(X).tobytes()).hexdigest())
        """
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    }
    assert outputs == {digest}


def test_predict_is_thread_safe(small_classification):
    X, y = small_classification
    clf = GLAIClassifier(**FAST).fit(X, y)
    expected = clf.predict_proba(X)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: clf.predict_proba(X), range(16)))
    for result in results:
        np.testing.assert_array_equal(result, expected)


def _fit_in_worker(seed):
    """torch's thread count before and after a fit in a joblib worker, and the fit's score."""
    rng = np.random.RandomState(seed)
    X = rng.randn(200, 4)
    y = (X[:, 0] > 0).astype(int)
    before = torch.get_num_threads()
    clf = GLAIClassifier(hidden_layer_sizes=(8,), structure_max_epochs=5, random_state=seed)
    score = clf.fit(X, y).score(X, y)
    return before, torch.get_num_threads(), score


def test_parallel_workers_do_not_oversubscribe_torch():
    """In joblib's workers (as GridSearchCV(n_jobs=2) uses) a fit keeps the worker's
    share of the cores: skglai never raises torch's thread count."""
    import os

    n_jobs = 2
    results = Parallel(n_jobs=n_jobs)(delayed(_fit_in_worker)(seed) for seed in range(2))
    limit = max(1, (os.cpu_count() or 1) // n_jobs)
    for before, after, score in results:
        assert after == before <= limit
        assert score > 0.8


def test_large_input_path_masks_validation_rows_without_copying(monkeypatch):
    """Above the size threshold the held-out rows get zero weight instead of a copy."""
    import skglai._base as base

    rng = np.random.RandomState(0)
    X = rng.randn(3000, 5)
    y = (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(int)
    weights = np.ones(3000)
    params = dict(hidden_layer_sizes=(16,), structure_max_epochs=5, random_state=0)
    copied = GLAIClassifier(**params).fit(X, y, sample_weight=weights)
    monkeypatch.setattr(base, "MASK_VALIDATION_BYTES", 0)
    masked = GLAIClassifier(**params).fit(X, y, sample_weight=weights)
    assert (weights == 1).all()  # the caller's weights are never modified
    assert np.isfinite(masked.validation_scores_).all()
    assert abs(masked.best_validation_score_ - copied.best_validation_score_) < 0.03
    assert abs(masked.score(X, y) - copied.score(X, y)) < 0.03
