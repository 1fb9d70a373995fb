"""The suite's cached datasets load as registered and the halves cover their categories."""

import argparse

import numpy as np
import pytest

from benchmarks import datasets as D


def test_every_dataset_has_its_recorded_half():
    assert {s.name: s.half for s in D.DATASETS} == D.HALF


@pytest.mark.parametrize("half", ["tuning", "confirm"])
def test_each_drawn_half_covers_every_category(half):
    members = [s for s in D.DATASETS if s.half == half]
    covered = {c for s in members for c in s.categories}
    assert covered == set(D.CATEGORIES)
    assert sum("small" in s.categories for s in members) >= 2


def test_every_dataset_is_in_exactly_one_half():
    assert set(D.HALVES) == {"tuning", "confirm", "fresh"}
    assert all(s.half in D.HALVES for s in D.DATASETS)
    by_half = [D.names(half) for half in D.HALVES]
    assert sum(map(len, by_half)) == len(D.names()) == len(D.DATASETS)
    assert set().union(*by_half) == set(D.names())


def test_fresh_half_is_new_and_covers_the_main_categories():
    fresh = [s for s in D.DATASETS if s.half == "fresh"]
    covered = {c for s in fresh for c in s.categories}
    assert {"text-2", "text-few", "text-many", "tab-binary", "tab-multiclass"} <= covered
    assert {"tab-large", "regression", "multilabel", "multioutput"} <= covered
    assert sum("small" in s.categories for s in fresh) >= 2
    assert sum(s.task == "regression" for s in fresh) >= 2
    # an untouched half shares no stored file with the halves already run
    assert not {s.path for s in fresh} & {s.path for s in D.DATASETS if s.half != "fresh"}


def test_suite_half_option_selects_the_fresh_half():
    from benchmarks import suite

    args = argparse.Namespace(datasets=None, half="fresh")
    assert suite.chosen_datasets(args) == D.names("fresh")
    args.half = "all"
    assert suite.chosen_datasets(args) == D.names()


def test_registry_is_consistent():
    assert len({s.name for s in D.DATASETS}) == len(D.DATASETS)
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
