"""Safe persistence: JSON + npz, no pickle, integrity-checked."""

import zipfile

import numpy as np
import pytest

import skglai
from skglai import GLAIClassifier, GLAIRegressor

FAST = dict(hidden_layer_sizes=(16, 8), structure_max_epochs=3, max_iter=10, random_state=0)


@pytest.fixture
def fitted_models(small_classification):
    pd = pytest.importorskip("pandas")
    X, y = small_classification
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    labels = np.array(["a", "b", "c"], dtype=object)[y]
    return [
        (GLAIClassifier(**FAST, class_weight={0: 1.0, 1: 2.0, 2: 1.0}).fit(X, y), X),
        (GLAIClassifier(**FAST).fit(frame, labels), frame),
        (GLAIClassifier(**FAST).fit(X, np.column_stack([y == 0, y == 1])), X),
        (GLAIRegressor(**FAST).fit(X.astype(np.float32), X[:, 0] * 3 + 1), X.astype(np.float32)),
        (GLAIRegressor(**FAST).fit(X, np.column_stack([X[:, 0], X[:, 1]])), X),
    ]


def test_round_trip_predicts_identically(fitted_models, tmp_path):
    for i, (model, X) in enumerate(fitted_models):
        path = tmp_path / f"model{i}.npz"
        skglai.save(model, path)
        loaded = skglai.load(path)
        assert type(loaded) is type(model)
        assert loaded.get_params() == model.get_params()
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
        if hasattr(model, "predict_proba"):
            np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
        for key, value in vars(model).items():
            if key.endswith("_") and isinstance(value, np.ndarray):
                np.testing.assert_array_equal(getattr(loaded, key), value)
                assert getattr(loaded, key).dtype == value.dtype, key


def test_file_holds_no_pickles(fitted_models, tmp_path):
    path = tmp_path / "model.npz"
    skglai.save(fitted_models[1][0], path)
    with np.load(path, allow_pickle=False) as archive:
        for key in archive.files:
            assert archive[key].dtype != object


def test_truncated_file_is_a_clear_error(fitted_models, tmp_path):
    path = tmp_path / "model.npz"
    skglai.save(fitted_models[0][0], path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a readable skglai model"):
        skglai.load(path)


def test_tampered_array_fails_integrity_check(fitted_models, tmp_path):
    path = tmp_path / "model.npz"
    skglai.save(fitted_models[0][0], path)
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    arrays["paths_/theta"] = arrays["paths_/theta"] * 1.01
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="integrity check"):
        skglai.load(path)


def test_not_a_model_file(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, x=np.arange(3))
    with pytest.raises(ValueError, match="not a skglai model"):
        skglai.load(path)
    text = tmp_path / "text.npz"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not a readable"):
        skglai.load(text)


def test_inconsistent_arrays_rejected_even_with_valid_digest(fitted_models, tmp_path, monkeypatch):
    """A digest-consistent file whose arrays disagree (e.g. crafted) is still refused."""
    import skglai._persistence as persistence

    path = tmp_path / "model.npz"
    skglai.save(fitted_models[0][0], path)
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    arrays["paths_/block_chains"] = arrays["paths_/block_chains"] + 1000
    del arrays[persistence.DIGEST_KEY]
    arrays[persistence.DIGEST_KEY] = np.array(persistence._digest(arrays))
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="do not fit together"):
        skglai.load(path)


def test_unfitted_or_foreign_objects_are_refused(tmp_path):
    with pytest.raises(ValueError, match="not fitted"):
        skglai.save(GLAIClassifier(), tmp_path / "m.npz")
    with pytest.raises(TypeError):
        skglai.save(object(), tmp_path / "m.npz")


def test_zip_is_plain_npz(fitted_models, tmp_path):
    path = tmp_path / "model.npz"
    skglai.save(fitted_models[0][0], path)
    assert zipfile.is_zipfile(path)
