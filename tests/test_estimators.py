"""The estimators end to end: targets, inputs, drop-in use, accuracy, torch export."""

import pickle

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight

from skglai import GLAIClassifier, GLAIRegressor

FAST = dict(hidden_layer_sizes=(32,), structure_max_epochs=5, max_iter=50, random_state=0)


def test_digits_accuracy(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    clf = GLAIClassifier(hidden_layer_sizes=(128,), random_state=0).fit(X_train, y_train)
    assert clf.score(X_test, y_test) >= 0.95
    assert clf.n_params_ <= clf.param_budget_ == 65 * 128 + 129 * 10
    assert set(clf.fit_times_) == {"structure", "paths", "quantities"}
    assert clf.solver_ == "lbfgs"
    assert clf.n_structure_epochs_ == len(clf.structure_change_) >= 1


def test_diabetes_r2_at_default_settings(diabetes_split):
    # 309 noisy training rows, fewer than the path model's parameters: the
    # exact ridge optimum overfits (R^2 -1.4 before early stopping held out
    # rows at this size), so the defaults must hold out and pick L-BFGS.
    # Single fits vary by seed, so the median of five is checked. On this
    # split MLPRegressor trained to convergence scores 0.33-0.34 (and -1.4
    # at its default max_iter), Ridge 0.39.
    X_train, X_test, y_train, y_test = diabetes_split
    scores = []
    for seed in range(5):
        reg = GLAIRegressor(random_state=seed).fit(X_train, y_train)
        assert reg.solver_ == "lbfgs"
        assert reg.validation_scores_ is not None
        scores.append(reg.score(X_test, y_test))
    assert np.median(scores) >= 0.3


def test_large_regression_is_solved_exactly():
    rng = np.random.RandomState(0)
    X = rng.randn(3000, 3)
    y = np.abs(X[:, 0]) + X[:, 1] * X[:, 2]
    reg = GLAIRegressor(hidden_layer_sizes=(4,), random_state=0).fit(X, y)
    assert reg.n_params_ * 64 <= 2700  # the training rows, early stopping held out the rest
    assert reg.solver_ == "lstsq"


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_alpha_and_n_iter_say_what_the_direct_ridge_solve_did():
    from skglai._solvers import RIDGE_PATH

    rng = np.random.RandomState(0)
    X = rng.randn(600, 3)
    y = np.abs(X[:, 0]) + X[:, 1] * X[:, 2] + 0.3 * rng.randn(600)
    params = dict(hidden_layer_sizes=(4,), solver="lstsq", alpha=1e-2, random_state=0)
    reg = GLAIRegressor(**params, early_stopping=True).fit(X, y)
    # One system solved per penalty tried; the kept one has the best validation loss.
    assert reg.n_iter_ == len(RIDGE_PATH) == len(reg.loss_curve_)
    best = int(np.argmin(reg.validation_loss_curve_))
    assert reg.alpha_ == 1e-2 * RIDGE_PATH[best]
    plain = GLAIRegressor(**params, early_stopping=False).fit(X, y)
    assert (plain.n_iter_, plain.alpha_) == (1, 1e-2)
    iterative = GLAIRegressor(**{**params, "solver": "lbfgs"}, early_stopping=True).fit(X, y)
    assert iterative.alpha_ == 1e-2


def test_small_data_warm_up_trains_before_it_settles():
    # With one full-batch step per epoch, the first epoch flipped fewer than
    # structure_tol of the random start's gates and the warm-up "settled"
    # untrained; batch_size='auto' now gives every epoch four steps, which
    # flip a measurable share of them.
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    clf = GLAIClassifier(random_state=0).fit(StandardScaler().fit_transform(X), y)
    assert clf._batch_size(len(X)) == 38
    assert clf.n_structure_epochs_ > 1
    assert clf.structure_change_[0] >= clf.structure_tol


def test_auto_batch_size():
    clf = GLAIClassifier()
    assert clf._batch_size(3) == 1
    assert clf._batch_size(1437) == 360
    assert clf._batch_size(100_000) == 512
    assert clf.set_params(batch_size=64)._batch_size(10) == 10


def test_binary_uses_one_logit(small_classification):
    X, y = small_classification
    y = np.where(y > 0, "yes", "no")
    clf = GLAIClassifier(**FAST).fit(X, y)
    assert clf.n_outputs_ == 1
    assert list(clf.classes_) == ["no", "yes"]
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(1), 1)
    with np.errstate(divide="ignore"):
        np.testing.assert_array_equal(clf.predict_log_proba(X), np.log(proba))
    assert clf.decision_function(X).shape == (len(X),)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(1)])
    assert clf.score(X, y) > 0.8


def test_multiclass_softmax(small_classification):
    X, y = small_classification
    clf = GLAIClassifier(**FAST).fit(X, y)
    assert clf.n_outputs_ == 3
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(1), 1)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(1)])


def test_multilabel_indicator(small_classification):
    X, _ = small_classification
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0, X[:, 3] > 0.5]).astype(int)
    clf = GLAIClassifier(**FAST).fit(X, Y)
    assert clf.n_outputs_ == 3
    assert clf.predict(X).shape == Y.shape
    assert clf.predict_proba(X).shape == Y.shape
    assert (clf.predict(X) == Y).mean() > 0.85


@pytest.mark.parametrize("multi_output", [False, True])
def test_regression_outputs(small_regression, multi_output):
    X, y = small_regression
    Y = np.column_stack([y, 3 * y + 100]) if multi_output else y * 50 + 7
    reg = GLAIRegressor(**FAST).fit(X, Y)
    pred = reg.predict(X)
    assert pred.shape == Y.shape
    assert reg.score(X, Y) > 0.8


def test_float32_stays_float32(small_classification):
    X, y = small_classification
    clf = GLAIClassifier(**FAST).fit(X.astype(np.float32), y)
    assert clf.paths_.theta.dtype == np.float32
    assert clf.structural_coefs_[0].dtype == np.float32
    clf64 = clone(clf).fit(X, y)
    assert clf64.paths_.theta.dtype == np.float64


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_sparse_input_matches_dense(small_classification, fmt, solver):
    X, y = small_classification
    X = np.where(np.abs(X) < 0.5, 0.0, X)
    params = dict(FAST, solver=solver, input_conditioning="none")  # the same coordinates
    dense = GLAIClassifier(**params).fit(X, y)
    sparse = GLAIClassifier(**params).fit(sp.csr_matrix(X).asformat(fmt), y)
    np.testing.assert_allclose(
        sparse.decision_function(sp.csr_matrix(X)), dense.decision_function(X), rtol=1e-6, atol=1e-8
    )


def test_sparse_chunks_gathered_each_pass_match_dense(monkeypatch):
    """Uncached full-batch chunks of sparse input are gathered again every pass, same result."""
    import skglai._solvers as solvers

    rng = np.random.RandomState(3)
    X = rng.randn(700, 6)  # three chunks of at most 256 rows
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    X = np.where(np.abs(X) < 0.5, 0.0, X)
    params = dict(FAST, input_conditioning="none")  # the same coordinates
    dense = GLAIClassifier(**params).fit(X, y)
    monkeypatch.setattr(solvers, "CHUNK_ELEMENTS", 1)  # chunks of 256 rows
    monkeypatch.setattr(solvers, "CACHE_ELEMENTS", 0)  # none cached
    sparse = GLAIClassifier(**params).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(
        sparse.decision_function(sp.csr_matrix(X)), dense.decision_function(X), rtol=1e-6, atol=1e-8
    )


def test_sparse_probes_stay_sparse(small_classification, monkeypatch):
    """The warm-up's and the pruning's probe rows of sparse input are never densified.

    A dense probe is 2,048 x n_features: 8.6 GB for hashed text with 2**20 columns.
    """
    import skglai._base as base
    import skglai._structure as structure

    seen = []
    probe_gates, select_paths = structure.probe_gates, base.select_paths
    gates_and_mean_loss, mean_loss = structure.gates_and_mean_loss, structure.mean_loss

    def spy_probe_gates(net, X_probe):
        seen.append(("warm-up probe", X_probe.is_sparse))
        return probe_gates(net, X_probe)

    def spy_gates_and_mean_loss(net, X_val, *args):
        seen.append(("warm-up validation", X_val.is_sparse))
        return gates_and_mean_loss(net, X_val, *args)

    def spy_mean_loss(net, X_val, *args):
        seen.append(("warm-up validation", X_val.is_sparse))
        return mean_loss(net, X_val, *args)

    def spy_select_paths(net, n_outputs, budget, X_probe, w_probe):
        seen.append(("pruning", X_probe.is_sparse))
        return select_paths(net, n_outputs, budget, X_probe, w_probe)

    monkeypatch.setattr(structure, "probe_gates", spy_probe_gates)
    monkeypatch.setattr(structure, "gates_and_mean_loss", spy_gates_and_mean_loss)
    monkeypatch.setattr(structure, "mean_loss", spy_mean_loss)
    monkeypatch.setattr(base, "select_paths", spy_select_paths)
    X, y = small_classification
    X = sp.csr_matrix(np.where(np.abs(X) < 0.5, 0.0, X))
    GLAIClassifier(**FAST, early_stopping=False).fit(X, y)  # training rows probe the gates
    GLAIClassifier(**FAST, early_stopping=True).fit(X, y)  # and its held-out rows
    assert {phase for phase, _ in seen} == {"warm-up probe", "warm-up validation", "pruning"}
    assert all(is_sparse for _, is_sparse in seen)


def test_pandas_feature_names(small_classification):
    pd = pytest.importorskip("pandas")
    X, y = small_classification
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    clf = GLAIClassifier(**FAST).fit(frame, y)
    assert list(clf.feature_names_in_) == list(frame.columns)
    with pytest.warns(UserWarning, match="feature names"):
        from_array = clf.predict(X)
    np.testing.assert_array_equal(clf.predict(frame), from_array)


def test_pipeline_in_grid_search(small_classification):
    X, y = small_classification
    pipe = make_pipeline(StandardScaler(), GLAIClassifier(**FAST))
    search = GridSearchCV(pipe, {"glaiclassifier__reduction_factor": [2, 4]}, cv=3, n_jobs=2)
    search.fit(X, y)
    assert search.best_score_ > 0.7
    assert search.best_estimator_.score(X, y) > 0.7


def test_clone_pickle_and_joblib_round_trip(small_classification, tmp_path):
    X, y = small_classification
    clf = GLAIClassifier(**FAST).fit(X, y)
    assert clone(clf).get_params() == clf.get_params()
    path = tmp_path / "model.joblib"
    joblib.dump(clf, path)
    loaded = joblib.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(clf)).predict(X), clf.predict(X))


def test_fitted_state_is_numpy_only(small_classification):
    X, y = small_classification
    clf = GLAIClassifier(**FAST).fit(X, y)

    def walk(obj, seen):
        if id(obj) in seen:
            return
        seen.add(id(obj))
        assert not isinstance(obj, (torch.Tensor, torch.nn.Module, torch.device)), type(obj)
        if isinstance(obj, dict):
            for v in obj.values():
                walk(v, seen)
        elif isinstance(obj, (list, tuple)):
            for v in obj:
                walk(v, seen)
        elif hasattr(obj, "__dict__"):
            walk(vars(obj), seen)

    walk(clf, set())


def test_same_random_state_same_predictions(small_classification):
    X, y = small_classification
    a = GLAIClassifier(**FAST).fit(X, y).predict_proba(X)
    b = GLAIClassifier(**FAST).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("Estimator", [GLAIClassifier, GLAIRegressor])
def test_to_torch_matches_estimator(Estimator, small_classification):
    X, y = small_classification
    est = Estimator(
        hidden_layer_sizes=(16, 12),
        reduction_factor=2,
        structure_max_epochs=3,
        max_iter=20,
        random_state=0,
    ).fit(X, y)
    module = est.to_torch()
    with torch.no_grad():
        out = module(torch.as_tensor(X)).numpy()
    expected = est.decision_function(X) if Estimator is GLAIClassifier else est.predict(X)
    np.testing.assert_allclose(out.reshape(expected.shape), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("solver", ["lbfgs", "adam", "sgd"])
def test_every_solver_early_stops_on_a_validation_score(small_classification, solver):
    X, y = small_classification
    clf = GLAIClassifier(
        **{**FAST, "max_iter": 30}, solver=solver, early_stopping=True, n_iter_no_change=3
    ).fit(X, y)
    # One validation score per iteration; which iterate is kept is tested on
    # the Monitor itself (tests/test_solvers.py).
    assert clf.validation_scores_ is not None
    assert len(clf.validation_scores_) == clf.n_iter_ >= 1
    assert 0.0 <= clf.best_validation_score_ <= 1.0


def test_sample_weight_zero_equals_dropping_rows(small_classification):
    X, y = small_classification
    w = np.ones(len(X))
    w[::3] = 0
    kept = w > 0
    params = dict(
        hidden_layer_sizes=(16,),
        batch_size=1000,
        structure_max_epochs=5,
        max_iter=30,
        random_state=0,
        early_stopping=False,  # a validation split would draw other rows from each
    )
    weighted = GLAIClassifier(**params).fit(X, y, sample_weight=w)
    dropped = GLAIClassifier(**params).fit(X[kept], y[kept])
    np.testing.assert_allclose(
        weighted.predict_proba(X), dropped.predict_proba(X), rtol=1e-6, atol=1e-9
    )


def test_class_weight_balanced_shifts_predictions():
    """'balanced' fits as the equivalent sample weights do, and predicts the rare class more."""
    rng = np.random.RandomState(0)
    X = rng.randn(400, 4)
    y = (X[:, 0] + 1.5 * rng.randn(400) > 2).astype(int)  # about 10% ones, overlapping
    params = dict(FAST, reduction_factor=2)  # a narrow net, which cannot fit the noise
    plain = GLAIClassifier(**params).fit(X, y)
    balanced = GLAIClassifier(**params, class_weight="balanced").fit(X, y)
    weighted = GLAIClassifier(**params).fit(
        X, y, sample_weight=compute_sample_weight("balanced", y)
    )
    np.testing.assert_allclose(balanced.predict_proba(X), weighted.predict_proba(X))
    assert balanced.predict(X).sum() > 2 * max(plain.predict(X).sum(), 10)


def test_warm_start_continues_from_fitted_paths(small_classification):
    X, y = small_classification
    # Neither tolerance nor early stopping ends a fit: both stop at max_iter,
    # short of convergence, so the refit has work.
    params = {**FAST, "max_iter": 3, "tol": 0.0, "early_stopping": False}
    with pytest.warns(ConvergenceWarning):
        clf = GLAIClassifier(**params, warm_start=True).fit(X, y)
    chains = clf.paths_.block_chains.copy()
    structure = [w.copy() for w in clf.structural_coefs_]
    loss_before = clf.loss_curve_[-1]
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    # The structure and paths are kept, and the convex phase resumes from the
    # fitted values: below where it stopped, far below where a cold fit starts.
    np.testing.assert_array_equal(clf.paths_.block_chains, chains)
    for kept, before in zip(clf.structural_coefs_, structure):
        np.testing.assert_array_equal(kept, before)
    assert clf.n_iter_ == 3
    assert clf.loss_curve_[0] <= loss_before
    with pytest.warns(ConvergenceWarning):
        cold = GLAIClassifier(**params).fit(X, y)
    assert clf.loss_curve_[0] < cold.loss_curve_[0] - 0.1


def test_deep_nets_fit(small_regression):
    X, y = small_regression
    reg = GLAIRegressor(hidden_layer_sizes=(32, 32, 16), reduction_factor=2, random_state=0).fit(
        X, y
    )
    assert reg.n_params_ <= reg.param_budget_
    assert reg.score(X, y) > 0.8


def _warm_up_width(model):
    return [w.shape[1] for w in model.structural_coefs_[:-1]]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("n_classes, factor", [(2, 2), (19, 2), (20, 1), (25, 1)])
def test_auto_reduction_factor_is_full_width_from_twenty_classes(n_classes, factor):
    rng = np.random.RandomState(0)
    X = rng.randn(10 * n_classes, 6)
    y = np.arange(10 * n_classes) % n_classes
    quick = dict(hidden_layer_sizes=(8,), structure_max_epochs=2, max_iter=3, random_state=0)
    clf = GLAIClassifier(**quick).fit(X, y)
    assert clf.reduction_factor == "auto"  # the parameter stays as given
    assert clf.reduction_factor_ == factor and _warm_up_width(clf) == [8 // factor]
    explicit = GLAIClassifier(**quick, reduction_factor=4).fit(X, y)
    assert explicit.reduction_factor_ == 4 and _warm_up_width(explicit) == [2]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_auto_reduction_factor_keeps_half_width_without_classes():
    """Many outputs but no classes (multilabel, multi-output regression): half the width."""
    rng = np.random.RandomState(0)
    X = rng.randn(300, 6)
    Y = rng.randn(300, 25)
    quick = dict(hidden_layer_sizes=(8,), structure_max_epochs=2, max_iter=3, random_state=0)
    regressor = GLAIRegressor(**quick).fit(X, Y)
    labels = GLAIClassifier(**quick).fit(X, (Y > 0).astype(int))
    assert regressor.reduction_factor_ == labels.reduction_factor_ == 2
    assert _warm_up_width(regressor) == _warm_up_width(labels) == [4]


def test_reduction_factor_rejects_other_strings():
    X, y = np.random.RandomState(0).randn(30, 3), np.arange(30) % 2
    with pytest.raises(ValueError, match="reduction_factor"):
        GLAIClassifier(reduction_factor="full").fit(X, y)
