"""The suite's cached datasets load as registered and the halves cover their categories."""

import argparse
import json
import re

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
    assert set(D.HALVES) == {"tuning", "confirm", "fresh", "holdout"}
    assert all(s.half in D.HALVES for s in D.DATASETS)
    by_half = [D.names(half) for half in D.HALVES]
    assert sum(map(len, by_half)) == len(D.names()) == len(D.DATASETS)
    assert set().union(*by_half) == set(D.names())


@pytest.mark.parametrize("half", ["fresh", "holdout"])
def test_added_half_is_new_and_covers_the_main_categories(half):
    added = [s for s in D.DATASETS if s.half == half]
    covered = {c for s in added for c in s.categories}
    assert {"text-2", "text-few", "text-many", "tab-binary", "tab-multiclass"} <= covered
    assert {"tab-large", "regression", "multilabel", "multioutput"} <= covered
    assert sum("small" in s.categories for s in added) >= 2
    assert sum(s.task == "regression" for s in added) >= 2
    # an untouched half shares no stored file with the halves already run
    assert not {s.path for s in added} & {s.path for s in D.DATASETS if s.half != half}


def _source_table(source):
    """``'R <package> <item>'`` of a registry source, or the source up to its first semicolon."""
    m = re.match(r"R (\S+) (\S+)", source)
    return m.groups() if m else source.split(";")[0]


def test_holdout_half_uses_no_table_of_the_other_halves():
    holdout = [s for s in D.DATASETS if s.half == "holdout"]
    assert 10 <= len(holdout) <= 12
    others = {_source_table(s.source) for s in D.DATASETS if s.half != "holdout"}
    tables = [_source_table(s.source) for s in holdout]
    assert len(set(tables)) == len(tables)
    assert not set(tables) & others
    # every one records a source and a licence
    assert all(s.source and s.licence for s in holdout)


def test_holdout_half_has_only_its_recorded_linear_sanity_scores():
    scores = json.loads((D.SUITE_DIR / "sanity_scores.json").read_text())
    for name in D.names("holdout"):
        metric, score, _ = scores[name]
        assert metric in ("accuracy", "subset accuracy", "R^2")
        assert 0 < score < 1  # neither degenerate nor solved by a linear model


@pytest.mark.parametrize("half", ["fresh", "holdout"])
def test_suite_half_option_selects_an_added_half(half):
    from benchmarks import suite

    args = argparse.Namespace(datasets=None, half=half)
    assert suite.chosen_datasets(args) == D.names(half)
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
