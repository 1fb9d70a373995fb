"""Fit and predict on Dask arrays, on a two-process LocalCluster."""

import os
import pickle
import tracemalloc
import warnings

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import dask  # noqa: E402

from skglai import GLAIClassifier, GLAIRegressor, _dask  # noqa: E402

CHUNK = 1000


@pytest.fixture(scope="module")
def client():
    # No retries: a worker that dies on a block fails the fit at once (test_worker_lost).
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            worker_dashboard_address=None,
        )
    with cluster, distributed.Client(cluster) as client:
        yield client


def _teacher_data(n, n_features=8, n_classes=3, seed=0):
    """Rows labelled by a fixed random ReLU net (the same net for every seed)."""
    teacher = np.random.RandomState(42)
    hidden, out = teacher.randn(n_features, 12), teacher.randn(12, n_classes)
    X = np.random.RandomState(seed).randn(n, n_features).astype(np.float32)
    return X, (np.maximum(X @ hidden, 0) @ out).argmax(axis=1)


def _lazy(array, chunk=CHUNK):
    return da.from_array(array, chunks=(chunk,) + array.shape[1:])


def _quiet_fit(estimator, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)  # max_iter reached
        return estimator.fit(X, y, **kwargs)


def _same_structure(a, b):
    for coef_a, coef_b in zip(a.structural_coefs_, b.structural_coefs_):
        np.testing.assert_array_equal(coef_a, coef_b)
    np.testing.assert_array_equal(a.paths_.block_chains, b.paths_.block_chains)


CASES = {
    "binary": lambda X, y: (y == 0).astype(int),
    "multiclass": lambda X, y: y,
    "multilabel": lambda X, y: np.column_stack([y == 0, X[:, 0] > 0]).astype(int),
}


@pytest.mark.parametrize("share", [False, True])
@pytest.mark.parametrize("case", sorted(CASES))
def test_classifier_follows_numpy_fit(client, case, share):
    # Without early stopping and on fewer rows than the warm-up sample, the
    # warm-up sees exactly the NumPy fit's rows: same structure, same convex path.
    X, y = _teacher_data(3000)
    y = CASES[case](X, y)
    weights = np.random.RandomState(1).randint(0, 3, size=len(y)).astype(float)
    # The Dask fit's convex phase works in raw coordinates.
    params = dict(
        hidden_layer_sizes=(16,),
        early_stopping=False,
        max_iter=6,
        random_state=0,
        input_conditioning="none",
        shared_units=share,
    )
    if case == "multiclass":
        params["class_weight"] = "balanced"
    ref = _quiet_fit(GLAIClassifier(**params), X, y, sample_weight=weights)
    model = _quiet_fit(GLAIClassifier(**params), _lazy(X), _lazy(y), sample_weight=_lazy(weights))
    _same_structure(ref, model)
    assert model.shared_units_ is ref.shared_units_ is share
    np.testing.assert_array_equal(model.paths_.shared_units, ref.paths_.shared_units)
    np.testing.assert_allclose(model.loss_curve_, ref.loss_curve_, rtol=1e-3)
    assert np.mean(model.predict(X) == ref.predict(X)) > 0.995
    assert not any(is_dask(value) for value in model.__dict__.values())
    assert pickle.loads(pickle.dumps(model)).predict(X[:5]).shape == ref.predict(X[:5]).shape


def is_dask(value):
    return type(value).__module__.split(".")[0] == "dask"


@pytest.mark.parametrize("solver", ["lstsq", "lbfgs"])
def test_regressor_follows_numpy_fit(client, solver):
    X, _ = _teacher_data(3000)
    y = 100 + 20 * np.sin(X[:, 0]) + 5 * X[:, 1] * X[:, 2]  # target scaling matters
    params = dict(
        hidden_layer_sizes=(8,),
        early_stopping=False,
        solver=solver,
        random_state=0,
        input_conditioning="none",
    )
    ref = _quiet_fit(GLAIRegressor(max_iter=8, **params), X, y)
    model = _quiet_fit(GLAIRegressor(max_iter=8, **params), _lazy(X), _lazy(y))
    _same_structure(ref, model)
    np.testing.assert_allclose(model._y_mean, ref._y_mean)
    np.testing.assert_allclose(model._y_scale, ref._y_scale, rtol=1e-10)
    assert model.solver_ == solver
    np.testing.assert_allclose(model.predict(X), ref.predict(X), rtol=1e-3, atol=1e-2 * y.std())


def test_early_stopping_scores_like_numpy_fit(client):
    X, y = _teacher_data(12000)
    X_test, y_test = _teacher_data(10000, seed=1)
    params = dict(hidden_layer_sizes=(32,), random_state=0)
    ref = GLAIClassifier(**params).fit(X, y)
    model = GLAIClassifier(**params).fit(_lazy(X, 2000), _lazy(y, 2000))
    assert model.validation_scores_ and model.best_validation_score_ > 0.8
    # The two warm-ups see the rows in other orders and splits: close, not equal.
    assert abs(model.score(X_test, y_test) - ref.score(X_test, y_test)) < 0.01


def test_warmup_sample_is_bounded_and_seeded(client, monkeypatch):
    monkeypatch.setattr(_dask, "WARMUP_SAMPLE_ROWS", 1500)
    sizes, sample = [], _dask._warmup_sample

    def recorded(*args):
        rows = sample(*args)
        sizes.append(len(rows[0]))
        return rows

    monkeypatch.setattr(_dask, "_warmup_sample", recorded)
    X, y = _teacher_data(6000)
    params = dict(hidden_layer_sizes=(8,), max_iter=2, random_state=0)
    first = _quiet_fit(GLAIClassifier(**params), _lazy(X), _lazy(y))
    second = _quiet_fit(GLAIClassifier(**params), _lazy(X), _lazy(y))
    assert 1200 < sizes[0] <= 1500 and sizes[0] == sizes[1]
    _same_structure(first, second)
    np.testing.assert_array_equal(first.paths_.theta, second.paths_.theta)


def test_predict_is_lazy_and_blockwise(client):
    X, y = _teacher_data(3000)
    model = _quiet_fit(GLAIClassifier((16,), max_iter=5, random_state=0), X, y)
    lazy_X = _lazy(X, 700)
    for method in ["predict", "predict_proba", "decision_function", "predict_log_proba"]:
        result = getattr(model, method)(lazy_X)
        assert isinstance(result, da.Array)
        assert result.chunks[0] == lazy_X.chunks[0]
        blocks = [getattr(model, method)(X[i : i + 700]) for i in range(0, len(X), 700)]
        np.testing.assert_array_equal(result.compute(), np.concatenate(blocks))
    assert isinstance(model.predict(X), np.ndarray)  # NumPy input: NumPy output

    reg = _quiet_fit(GLAIRegressor((8,), max_iter=5, random_state=0), X, X[:, 0] ** 2)
    predictions = reg.predict(lazy_X)
    assert predictions.ndim == 1
    np.testing.assert_allclose(predictions.compute(), reg.predict(X))


def test_dask_dataframe(client):
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    X, y = _teacher_data(2000)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    data = dd.from_pandas(frame, npartitions=3)
    model = _quiet_fit(GLAIClassifier((8,), max_iter=5, random_state=0), data, _lazy(y, 700))
    assert list(model.feature_names_in_) == list(frame.columns)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*feature names")  # none for the blocks
        np.testing.assert_array_equal(model.predict(data).compute(), model.predict(frame))

    frame["text"] = "a"
    with pytest.raises(ValueError, match="non-numeric columns"):
        GLAIClassifier().fit(dd.from_pandas(frame, npartitions=2), y)


def _generated(n, n_features, seed=0):
    """Rows drawn on the workers, labelled there: nothing of X is ever on the client."""
    X = da.random.RandomState(seed).standard_normal((n, n_features), chunks=(20000, n_features))
    X = X.astype(np.float32)
    w = np.random.RandomState(0).randn(n_features, 3)
    return X, X.map_blocks(lambda block: (block @ w).argmax(axis=1), drop_axis=1, dtype=int)


def test_client_memory_does_not_grow_with_rows(client, monkeypatch):
    # Both sizes above the warm-up sample's bound, so only the passes could grow.
    monkeypatch.setattr(_dask, "WARMUP_SAMPLE_ROWS", 5000)
    peaks = []
    for n in (20_000, 200_000):
        X, y = _generated(n, 32)
        tracemalloc.start()
        GLAIClassifier((8,), max_iter=3, early_stopping=False, random_state=0).fit(X, y)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    # Gathering X would add 180,000 x 32 x 4 bytes (23 MB) to the second peak.
    assert peaks[1] - peaks[0] < 8e6, peaks


def test_clear_errors(client, monkeypatch):
    X, y = _teacher_data(2000)
    unknown = _lazy(X)[_lazy(X)[:, 0] > 0]
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        GLAIClassifier().fit(unknown, y[X[:, 0] > 0])
    with pytest.raises(ValueError, match="minibatches"):
        GLAIClassifier(solver="adam").fit(_lazy(X), y)

    def no_client():
        raise ValueError("No clients found")

    monkeypatch.setattr(distributed, "get_client", no_client)
    with pytest.raises(RuntimeError, match="needs a running dask.distributed client"):
        GLAIClassifier().fit(_lazy(X), y)


def _die_on_second_block(block, block_info=None):
    if block_info[0]["chunk-location"][0] == 1:
        os._exit(1)
    return block


def test_worker_lost_leaves_model_unchanged(client):
    # Last in the module: it kills a worker (the nanny restarts it).
    X, y = _teacher_data(2000)
    model = _quiet_fit(GLAIClassifier((8,), max_iter=3, random_state=0), _lazy(X), _lazy(y))
    before = model.paths_.theta.copy()
    doomed = _lazy(X).map_blocks(_die_on_second_block, dtype=X.dtype)
    with pytest.raises(RuntimeError, match="worker was lost"):
        model.fit(doomed, _lazy(y))
    np.testing.assert_array_equal(model.paths_.theta, before)


def test_dask_fit_resolves_reduction_factor_as_numpy_fit(client):
    """reduction_factor='auto' gives the full-width warm-up from 20 classes on, on Dask too."""
    X, _ = _teacher_data(1200)
    y = np.arange(len(X)) % 20
    params = dict(hidden_layer_sizes=(16,), early_stopping=False, max_iter=2, random_state=0)
    ref = _quiet_fit(GLAIClassifier(**params), X, y)
    model = _quiet_fit(GLAIClassifier(**params), _lazy(X), _lazy(y))
    assert model.reduction_factor_ == ref.reduction_factor_ == 1
    assert model.structural_coefs_[0].shape == ref.structural_coefs_[0].shape == (8, 16)
