"""The estimators' docstrings document every parameter and fitted attribute, once."""

import re

import numpy as np
import pytest

from skglai import GLAIClassifier, GLAIRegressor
from skglai._docstrings import build_docstring


def _documented(doc, section):
    """Names of the entries of a numpydoc section (``a, b : type`` lists both)."""
    body = doc.split(f"\n    {section}\n    {'-' * len(section)}\n")[1]
    body = re.split(r"\n\n    \S", body)[0]
    names = set()
    for line in body.splitlines():
        if re.match(r"    \S", line):
            names.update(n.strip() for n in line.split(" : ")[0].split(","))
    return names


@pytest.mark.parametrize("Estimator", [GLAIClassifier, GLAIRegressor])
def test_every_parameter_is_documented(Estimator):
    assert _documented(Estimator.__doc__, "Parameters") == set(Estimator().get_params())


@pytest.mark.parametrize("Estimator", [GLAIClassifier, GLAIRegressor])
def test_every_fitted_attribute_is_documented(Estimator):
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(60, 3)), np.arange(60) % 2
    est = Estimator(hidden_layer_sizes=(4,), structure_max_epochs=2, random_state=0)
    est.fit(X, y)
    fitted = {k for k in vars(est) if k.endswith("_") and not k.startswith("_")}
    documented = _documented(Estimator.__doc__, "Attributes")
    assert fitted - documented == set()
    assert documented - fitted <= {"feature_names_in_"}  # set only for named columns


def test_an_entry_without_a_shared_slot_is_refused():
    with pytest.raises(ValueError, match="learning_rate"):
        build_docstring("x", {"learning_rate": "y"}, {}, "", score="accuracy")
