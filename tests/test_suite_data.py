"""The benchmark suite's cached datasets load as registered and the halves cover every category."""

import numpy as np
import pytest

from benchmarks import datasets as D


def test_every_dataset_has_its_recorded_half():
    assert {s.name: s.half for s in D.DATASETS} == D.HALF


@pytest.mark.parametrize("half", D.HALVES)
def test_each_half_covers_every_category(half):
    members = [s for s in D.DATASETS if s.half == half]
    covered = {c for s in members for c in s.categories}
    assert covered == set(D.CATEGORIES)
    assert sum("small" in s.categories for s in members) >= 2


def test_registry_is_consistent():
    assert len({s.name for s in D.DATASETS}) == len(D.DATASETS)
    assert set(D.names("tuning")) | set(D.names("confirm")) == set(D.names())
    for s in D.DATASETS:
        assert s.half in D.HALVES
        assert s.task in D.TASKS
        assert s.categories and set(s.categories) <= set(D.CATEGORIES)
        assert ("small" in s.categories) == (s.rows < 3000)
        assert ("tab-large" in s.categories) == (s.rows >= 100_000)
    with pytest.raises(KeyError, match="unknown dataset"):
        D.load("no_such_dataset")
    with pytest.raises(ValueError, match="half"):
        D.names("both")


@pytest.mark.parametrize("name", D.names())
def test_dataset_loads_as_declared(name):
    s = D.spec(name)
    X, y = D.load(name)
    assert X.dtype == np.float32
    assert X.shape == (s.rows, s.features)
    assert np.isfinite(X).all()
    assert len(y) == s.rows
    if s.task in ("binary", "multiclass"):
        assert y.ndim == 1 and np.issubdtype(y.dtype, np.integer)
        assert np.array_equal(np.unique(y), np.arange(s.n_targets))
        assert (s.task == "binary") == (s.n_targets == 2)
    elif s.task == "multilabel":
        assert y.shape == (s.rows, s.n_targets)
        assert set(np.unique(y)) == {0, 1}
        assert (y.min(axis=0) == 0).all() and (y.max(axis=0) == 1).all()
    else:
        assert y.dtype == np.float32 and np.isfinite(y).all()
        assert y.shape == ((s.rows,) if s.task == "regression" else (s.rows, s.n_targets))
        assert (np.std(y, axis=0) > 0).all()
    if any(c.startswith("text-") for c in s.categories):
        assert s.features == 384
        np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, atol=5e-3)
    if "text-2" in s.categories:
        assert s.n_targets == 2
    if "text-few" in s.categories:
        assert 3 <= s.n_targets <= 5
    if "text-many" in s.categories:
        assert s.n_targets >= 15
    if "tab-multiclass" in s.categories or "image" in s.categories:
        assert s.n_targets >= 10
