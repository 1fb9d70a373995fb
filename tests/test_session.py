"""Working with the estimators in a session: progress output, warnings, repr, metadata routing."""

import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.fixes import parse_version

from skglai import GLAIClassifier, GLAIRegressor

FAST = dict(hidden_layer_sizes=(32,), structure_max_epochs=10, random_state=0, device="cpu")


# ------------------------------------------------------------------ verbose
def test_verbose_0_prints_nothing(capsys, digits_split):
    """No output and no warning (which would reach stderr outside pytest)."""
    X, _, y, _ = digits_split
    params = {**FAST, "structure_max_epochs": 30}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        GLAIClassifier(**params, verbose=0).fit(X, y)
        GLAIRegressor(**params, verbose=0).fit(X, y.astype(float))
    assert [str(w.message) for w in caught] == []
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_verbose_1_shows_a_bar_per_phase(capsys, digits_split):
    X, _, y, _ = digits_split
    clf = GLAIClassifier(**FAST, verbose=1, early_stopping=False).fit(X, y)
    err = capsys.readouterr().err
    assert "GLAI structure" in err and f"GLAI quantities ({clf.solver_})" in err
    assert "gate flips=" in err and "loss=" in err
    # the bars end full, at the number of steps actually run
    assert f"{clf.n_structure_epochs_}/{clf.n_structure_epochs_}" in err
    assert f"{clf.n_iter_}/{clf.n_iter_}" in err
    assert "val score" not in err


def test_verbose_shows_validation_score_with_early_stopping(capsys, digits_split):
    X, _, y, _ = digits_split
    GLAIClassifier(**FAST, verbose=1, early_stopping=True).fit(X, y)
    err = capsys.readouterr().err
    assert re.search(r"val score=0\.\d{4}", err)


def test_bars_are_closed_when_the_fit_raises(monkeypatch, digits_split):
    from tqdm.auto import tqdm

    import skglai._solvers

    def broken(*args, **kwargs):
        raise RuntimeError("solver failed")

    monkeypatch.setattr(skglai._solvers, "solve_lbfgs", broken)
    X, _, y, _ = digits_split
    with pytest.raises(RuntimeError, match="solver failed"):
        GLAIClassifier(**FAST, verbose=1, solver="lbfgs").fit(X, y)
    assert len(tqdm._instances) == 0


# ----------------------------------------------------------------- warnings
def test_structure_warns_when_it_hits_max_epochs(digits_split):
    X, _, y, _ = digits_split
    with pytest.warns(ConvergenceWarning, match="structure_max_epochs=1.*structure_tol"):
        clf = GLAIClassifier(**{**FAST, "structure_max_epochs": 1}).fit(X, y)
    assert not clf.structure_settled_ and clf.n_structure_epochs_ == 1


def test_settled_structure_does_not_warn(digits_split):
    X, _, y, _ = digits_split
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        params = {**FAST, "structure_max_epochs": 50, "early_stopping": False}
        clf = GLAIClassifier(**params).fit(X, y)
    assert clf.structure_settled_
    assert not [w for w in caught if "structure_max_epochs" in str(w.message)]


@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_convex_phase_warns_at_max_iter(digits_split, solver):
    X, _, y, _ = digits_split
    with pytest.warns(ConvergenceWarning, match=rf"\({solver}\) reached max_iter=1"):
        GLAIClassifier(**FAST, solver=solver, max_iter=1).fit(X, y)


def test_lstsq_warns_at_max_iter(small_regression):
    X, y = small_regression
    # above the direct solve's size limit, so conjugate gradients run
    reg = GLAIRegressor(
        hidden_layer_sizes=(800,),
        reduction_factor=1,
        structure_max_epochs=5,
        solver="lstsq",
        random_state=0,
        max_iter=1,
    )
    with pytest.warns(ConvergenceWarning, match=r"\(lstsq\) reached max_iter=1"):
        reg.fit(X, y)


# --------------------------------------------------------------------- repr
def test_repr_shows_only_changed_parameters():
    assert repr(GLAIClassifier()) == "GLAIClassifier()"
    assert repr(GLAIRegressor(reduction_factor=4, hidden_layer_sizes=(64,))) == (
        "GLAIRegressor(hidden_layer_sizes=(64,), reduction_factor=4)"
    )


def test_repr_html_marks_user_set_parameters():
    html = GLAIClassifier(reduction_factor=4)._repr_html_()
    assert "<pre>GLAIClassifier(reduction_factor=4)</pre>" in html  # the text fallback
    rows = {
        name: cls
        for cls, name in re.findall(
            r'<tr class="([^"]*)">.*?<td class="param">.*?(\w+)', html, re.S
        )
    }
    if parse_version(sklearn.__version__) < parse_version("1.7"):  # no table before 1.7
        return
    assert rows["reduction_factor"] == "user-set"
    assert rows["alpha"] == "default"


# ---------------------------------------------------------- metadata routing
def _zero_weight_on_class(y, label=0):
    return np.where(y == label, 0.0, 1.0)


def test_set_fit_request_is_generated():
    with sklearn.config_context(enable_metadata_routing=True):
        clf = GLAIClassifier().set_fit_request(sample_weight=True)
        routing = clf.get_metadata_routing()
        assert routing.fit.requests == {"sample_weight": True}
        assert GLAIRegressor().set_fit_request(
            sample_weight="weights"
        ).get_metadata_routing().fit.requests == {"sample_weight": "weights"}


def test_sample_weight_routed_through_pipeline(digits_split):
    X, _, y, _ = digits_split
    w = _zero_weight_on_class(y)
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(
            StandardScaler().set_fit_request(sample_weight=False),
            GLAIClassifier(**FAST).set_fit_request(sample_weight=True),
        )
        pipe.fit(X, y, sample_weight=w)
        unweighted = make_pipeline(StandardScaler(), GLAIClassifier(**FAST)).fit(X, y)
    zeros = y == 0
    assert np.mean(unweighted.predict(X[zeros]) == 0) > 0.8
    assert np.mean(pipe.predict(X[zeros]) == 0) < 0.05
    # the weights reached GLAI: the same as passing them directly
    direct = GLAIClassifier(**FAST).fit(StandardScaler().fit_transform(X), y, sample_weight=w)
    np.testing.assert_allclose(pipe[-1].paths_.theta, direct.paths_.theta)


def test_sample_weight_routed_through_grid_search(digits_split):
    X, _, y, _ = digits_split
    w = _zero_weight_on_class(y)
    with sklearn.config_context(enable_metadata_routing=True):
        glai = (
            GLAIClassifier(**FAST)
            .set_fit_request(sample_weight=True)
            .set_score_request(sample_weight=True)
        )
        search = GridSearchCV(glai, {"reduction_factor": [2, 4]}, cv=2)
        search.fit(X, y, sample_weight=w)
    zeros = y == 0
    assert np.mean(search.best_estimator_.predict(X[zeros]) == 0) < 0.05
    # scored with the weights too: the zero-weighted class's errors cost nothing
    assert search.best_score_ > 0.85


def test_unrequested_sample_weight_is_an_error(digits_split):
    X, _, y, _ = digits_split
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(
            StandardScaler().set_fit_request(sample_weight=False), GLAIClassifier(**FAST)
        )
        with pytest.raises(ValueError, match="sample_weight"):
            pipe.fit(X, y, sample_weight=np.ones(len(y)))


def test_a_dataframe_fit_and_predict_warn_nothing():
    """Read-only frame values reach torch without its "not writable" warning.

    torch warns once per process, so this runs in a fresh interpreter.
    """
    pytest.importorskip("pandas")
    code = """
import warnings
warnings.simplefilter("error")
from sklearn.datasets import load_diabetes
from skglai import GLAIClassifier, GLAIRegressor
X, y = load_diabetes(return_X_y=True, as_frame=True)
params = dict(hidden_layer_sizes=(8,), structure_max_epochs=100, random_state=0)
GLAIRegressor(**params).fit(X, y).predict(X)
GLAIClassifier(**params).fit(X, y > y.median()).predict_proba(X)
print("ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"
