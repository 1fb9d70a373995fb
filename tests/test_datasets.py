"""The shipped datasets load like scikit-learn's, and the examples run on them anywhere."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from skglai.datasets import load_diamonds, load_mnist_features, load_tweet_embeddings

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "loader, shape, n_classes",
    [
        (load_tweet_embeddings, (3000, 384), 3),
        (load_mnist_features, (2000, 1280), 10),
        (load_diamonds, (10000, 9), None),
    ],
)
def test_loaders_return_a_bunch_or_X_y(loader, shape, n_classes):
    bunch = loader()
    X, y = loader(return_X_y=True)
    np.testing.assert_array_equal(bunch.data, X)
    np.testing.assert_array_equal(bunch.target, y)
    assert X.shape == shape and y.shape == (shape[0],)
    assert X.dtype == np.float32 and np.isfinite(X).all() and np.isfinite(y).all()
    assert bunch.DESCR.splitlines()[0] and f"{shape[0]:,}" in bunch.DESCR
    if n_classes is None:
        assert y.dtype == np.float64 and len(bunch.feature_names) == shape[1]
    else:
        assert set(np.unique(y)) == set(range(n_classes)) == set(range(len(bunch.target_names)))
        assert np.bincount(y).min() > 0.1 * len(y) / n_classes  # every class well represented


def test_the_shipped_data_is_listed_as_package_data():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"skglai.datasets" = ["data/*.npz"]' in pyproject
    data = ROOT / "skglai" / "datasets" / "data"
    assert sorted(p.name for p in data.glob("*.npz")) == [
        "mnist_effnet.npz",
        "regression_diamonds.npz",
        "tweets_minilm.npz",
    ]


def test_an_example_runs_on_its_own_outside_the_repository(tmp_path):
    """A gallery example, downloaded alone, runs with skglai importable and nothing else."""
    site, run = tmp_path / "site", tmp_path / "run"
    # skglai alone, as an install would place it: no benchmarks/ beside it.
    shutil.copytree(ROOT / "skglai", site / "skglai", ignore=shutil.ignore_patterns("__pycache__"))
    run.mkdir()
    example = shutil.copy(ROOT / "examples" / "plot_regression_diamonds.py", run)
    env = {
        **os.environ,
        "PYTHONPATH": str(site),
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",
    }
    result = subprocess.run(
        [sys.executable, example],
        cwd=run,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "GLAIRegressor" in result.stdout and "test R^2" in result.stdout
