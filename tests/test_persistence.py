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


# --------------------------------------------------------------- issue 18
import io  # noqa: E402
import os  # noqa: E402
import pickle  # noqa: E402
import tracemalloc  # noqa: E402

import skglai._persistence as persistence  # noqa: E402


def _arrays(path):
    with np.load(path, allow_pickle=False) as archive:
        return {k: archive[k] for k in archive.files}


def _rewrite(path, arrays, meta_edit=None, digest=True):
    """Write arrays back (optionally editing the metadata), with a fresh unkeyed digest."""
    import json

    arrays = dict(arrays)
    meta = json.loads(str(arrays[persistence.META_KEY]))
    meta["arrays"] = {
        k: [v.dtype.str, list(v.shape)]
        for k, v in arrays.items()
        if k not in (persistence.META_KEY, persistence.DIGEST_KEY)
    }
    meta["integrity"] = "sha256"
    if meta_edit:
        meta_edit(meta)
    arrays[persistence.META_KEY] = np.array(json.dumps(meta, sort_keys=True))
    del arrays[persistence.DIGEST_KEY]
    if digest:
        arrays[persistence.DIGEST_KEY] = np.array(persistence._digest(arrays))
    with open(path, "wb") as f:
        np.savez(f, **arrays)


@pytest.fixture(scope="module")
def one_model():
    rng = np.random.RandomState(0)
    X = rng.randn(120, 4)
    y = (X[:, 0] > 0).astype(int)
    return GLAIClassifier(**FAST).fit(X, y), X


@pytest.mark.parametrize("name", ["model.skglai", "model", "model.npz"])
def test_save_writes_exactly_the_given_path(one_model, tmp_path, name):
    model, X = one_model
    path = tmp_path / name
    assert skglai.save(model, path) == str(path)
    assert os.listdir(tmp_path) == [name]
    np.testing.assert_array_equal(skglai.load(path).predict(X), model.predict(X))


def test_save_to_a_directory_is_refused(one_model, tmp_path):
    with pytest.raises(ValueError, match="is a directory"):
        skglai.save(one_model[0], tmp_path)
    assert os.listdir(tmp_path) == []


def test_failed_save_keeps_the_previous_file(one_model, tmp_path, monkeypatch):
    """Disk full midway (the array writer raises ENOSPC after writing a little)."""
    model, X = one_model
    path = tmp_path / "model.npz"
    skglai.save(model, path)
    good = path.read_bytes()

    def disk_full(file, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)):
            file = open(file, "wb")  # noqa: SIM115 - the pre-fix writer took a path
        file.write(b"PK\x03\x04partial")
        file.flush()
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", disk_full)
    with pytest.raises(OSError, match="No space left"):
        skglai.save(model, path)
    monkeypatch.undo()
    assert path.read_bytes() == good
    assert os.listdir(tmp_path) == ["model.npz"]  # no temporary file left behind
    np.testing.assert_array_equal(skglai.load(path).predict(X), model.predict(X))


def test_declared_sizes_are_capped_before_decompressing(one_model, tmp_path):
    """A small file declaring a huge array is refused without allocating it."""
    path = tmp_path / "bomb.npz"
    skglai.save(one_model[0], path)
    arrays = _arrays(path)
    huge = ((1 << 28) + 1,)  # 2 GiB of float64 declared, 64 bytes present
    import json

    buffer = io.BytesIO()
    header = {"descr": "<f8", "fortran_order": False, "shape": huge}
    np.lib.format.write_array_header_2_0(buffer, header)
    meta = json.loads(str(arrays[persistence.META_KEY]))
    meta["arrays"] = {
        k: [v.dtype.str, list(v.shape)] for k, v in arrays.items() if not k.startswith("__")
    }
    meta["arrays"]["paths_/coef"] = ["<f8", list(huge)]
    arrays[persistence.META_KEY] = np.array(json.dumps(meta, sort_keys=True))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for key, value in arrays.items():
            if key == "paths_/coef":
                archive.writestr(key + ".npy", buffer.getvalue() + bytes(64))
            else:
                member = io.BytesIO()
                np.lib.format.write_array(member, value, allow_pickle=False)
                archive.writestr(key + ".npy", member.getvalue())
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="declares .* bytes"):
            skglai.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20


def test_array_header_must_match_the_metadata(one_model, tmp_path):
    path = tmp_path / "model.npz"
    skglai.save(one_model[0], path)
    arrays = _arrays(path)
    arrays["paths_/coef"] = np.zeros(len(arrays["paths_/coef"]) + 5)
    _rewrite(
        path,
        arrays,
        meta_edit=lambda meta: meta["arrays"].update(
            {"paths_/coef": ["<f8", [len(arrays["paths_/coef"]) - 5]]}
        ),
    )
    with pytest.raises(ValueError, match="not as declared"):
        skglai.load(path)


def test_wrong_dtype_is_refused_at_load_not_predict(one_model, tmp_path):
    path = tmp_path / "model.npz"
    skglai.save(one_model[0], path)
    arrays = _arrays(path)
    arrays["paths_/theta"] = arrays["paths_/theta"].astype(np.int64)
    _rewrite(path, arrays)
    with pytest.raises(ValueError, match="do not fit together"):
        skglai.load(path)


def _nested(depth):
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    "edit",
    [
        lambda meta: meta.update(fitted={"predict": 1}),  # shadows a method
        lambda meta: meta.update(fitted=[1, 2]),
        lambda meta: meta.update(params={"no_such_parameter": 1}),
        lambda meta: meta.update(params={**meta["params"], "alpha": "high"}),
        lambda meta: meta["fitted"].update(n_outputs_="two"),
        lambda meta: meta["fitted"].update(n_params_=None),
        lambda meta: meta.update(estimator=None),
        lambda meta: meta.update(arrays={}),
        lambda meta: meta["arrays"].update({"paths_/coef": ["|O", [3]]}),
        lambda meta: meta["arrays"].update({"paths_/coef": ["<f8", "abc"]}),
        lambda meta: meta.update(integrity="md5"),
        lambda meta: meta.update(object_arrays=5),
    ],
)
def test_every_malformed_file_is_a_value_error(one_model, tmp_path, edit):
    path = tmp_path / "model.npz"
    skglai.save(one_model[0], path)
    _rewrite(path, _arrays(path), meta_edit=edit)
    with pytest.raises(ValueError):
        skglai.load(path)


@pytest.mark.parametrize(
    "meta_text", [_nested(100_000), "{", "[]", '{"format": "skglai-model", "version": 2}']
)
def test_malformed_metadata_is_a_value_error(one_model, tmp_path, meta_text):
    path = tmp_path / "model.npz"
    skglai.save(one_model[0], path)
    arrays = _arrays(path)
    arrays[persistence.META_KEY] = np.array(meta_text)
    del arrays[persistence.DIGEST_KEY]
    arrays[persistence.DIGEST_KEY] = np.array(persistence._digest(arrays))
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    with pytest.raises(ValueError):
        skglai.load(path)


def test_pickles_and_object_arrays_are_refused_without_suggesting_pickle(one_model, tmp_path):
    pickled = tmp_path / "model.pkl"
    pickled.write_bytes(pickle.dumps(one_model[0]))
    objects = tmp_path / "objects.npz"
    arrays = _arrays(skglai.save(one_model[0], tmp_path / "m.npz"))
    arrays["classes_"] = np.array([0, "a"], dtype=object)
    with open(objects, "wb") as f:
        np.savez(f, **arrays)
    for path in (pickled, objects):
        with pytest.raises(ValueError) as info:
            skglai.load(path)
        assert "allow_pickle" not in str(info.value) and "pickle.load" not in str(info.value)


def test_keyed_files_resist_a_deliberate_edit(one_model, tmp_path):
    model, X = one_model
    path = skglai.save(model, tmp_path / "model.npz", key=b"secret")
    np.testing.assert_array_equal(skglai.load(path, key="secret").predict(X), model.predict(X))
    with pytest.raises(ValueError, match="saved with a key"):
        skglai.load(path)
    with pytest.raises(ValueError, match="integrity check"):
        skglai.load(path, key=b"guess")
    # the attack on an unkeyed file: negate the path values, recompute the plain digest
    arrays = _arrays(path)
    arrays["paths_/theta"] = -arrays["paths_/theta"]
    arrays["paths_/coef"] = -arrays["paths_/coef"]
    _rewrite(path, arrays)  # a valid plain-SHA-256 file now
    assert (skglai.load(path).predict(X) != model.predict(X)).any()  # what SHA-256 cannot stop
    with pytest.raises(ValueError, match="without a key"):
        skglai.load(path, key=b"secret")
    _rewrite(path, arrays, meta_edit=lambda meta: meta.update(integrity="hmac-sha256"))
    with pytest.raises(ValueError, match="integrity check"):
        skglai.load(path, key=b"secret")


def test_file_from_before_auto_reduction_factor_loads_its_numeric_factor(one_model, tmp_path):
    """A file saved when reduction_factor was always a number has no reduction_factor_."""
    model, X = one_model
    path = skglai.save(model, tmp_path / "model.npz")

    def older(meta):
        del meta["fitted"]["reduction_factor_"]
        meta["params"]["reduction_factor"] = 2

    _rewrite(path, _arrays(path), meta_edit=older)
    loaded = skglai.load(path)
    assert loaded.reduction_factor == 2 and loaded.reduction_factor_ == 2
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
