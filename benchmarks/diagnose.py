"""Which phase limits GLAI on a dataset of the suite.

Run from the repository root::

    python -m benchmarks.diagnose --datasets mnist_effnet,ucla_courses_text

On the suite's 80/20 splits (median of ``--seeds``), beside GLAI at default
settings, each row changes one phase and leaves the rest at its default:

- ``warm-up net``: the frozen structural net itself, scored as an MLP (what
  the structure phase learnt before any path was pruned or refitted);
- ``longer warm-up``: ``structure_tol=0`` and ``structure_max_epochs=100``:
  the warm-up runs until its validation loss stops improving;
- ``patient warm-up``: ``structure_patience=5``: five calm epochs in a row
  (as the reference MLP waits five epochs without improvement);
- ``full-width warm-up``: ``reduction_factor=1``: a warm-up net as wide as
  the replaced MLP (do the default's half-width gates cost accuracy?);
- ``3x budget``: three times the replaced MLP's parameter count (is pruning
  to the budget what costs accuracy?);
- ``longer convex phase``: ``n_iter_no_change=10`` (does early stopping end
  the convex solve too soon?);
- ``alpha x10`` and ``alpha /10``: the penalty.

A phase limits GLAI where changing it moves the score by more than the
seed-to-seed spread.
"""

import argparse
import statistics
import sys

import numpy as np
from sklearn.base import clone

from benchmarks import datasets as registry
from benchmarks.suite import REGRESSION, make_model, split, test_score
from skglai import GLAIClassifier
from skglai._pruning import mlp_param_count

VARIANTS = {
    "default": {},
    "longer warm-up": {"structure_tol": 0.0, "structure_max_epochs": 100},
    "patient warm-up": {"structure_patience": 5, "structure_max_epochs": 100},
    "full-width warm-up": {"reduction_factor": 1},
    "3x budget": "budget",
    "longer convex phase": {"n_iter_no_change": 10},
    "alpha x10": {"alpha": 1e-3},
    "alpha /10": {"alpha": 1e-5},
}


def warm_up_net_score(model, X, y, task):
    """Test score of the fitted model's structural net used as an MLP."""
    activations = X.astype(np.float64)
    layers = list(zip(model.structural_coefs_, model.structural_intercepts_))
    for weights, bias in layers[:-1]:
        activations = np.maximum(activations @ weights + bias, 0)
    outputs = activations @ layers[-1][0] + layers[-1][1]
    if task in REGRESSION:
        predicted = outputs * model._y_scale + model._y_mean
        predicted = predicted.ravel() if y.ndim == 1 else predicted
    elif task == "multilabel":
        predicted = (outputs > 0).astype(int)
    elif outputs.shape[1] == 1:
        predicted = model.classes_[(outputs.ravel() > 0).astype(int)]
    else:
        predicted = model.classes_[outputs.argmax(axis=1)]

    class Fixed:
        def predict(self, _):
            return predicted

    return test_score(Fixed(), X, y, task)


def variant_params(variant, model, X, y):
    if variant != "budget":
        return variant
    n_outputs = len(np.unique(y)) if isinstance(model, GLAIClassifier) and y.ndim == 1 else 1
    if y.ndim == 2:
        n_outputs = y.shape[1]
    if n_outputs == 2 and y.ndim == 1:
        n_outputs = 1
    return {"param_budget": 3 * mlp_param_count(X.shape[1], model.hidden_layer_sizes, n_outputs)}


def diagnose(name, seeds):
    task = registry.spec(name).task
    X, y = registry.load(name)
    scores = {label: [] for label in ["warm-up net", *VARIANTS]}
    for seed in seeds:
        X_tr, X_te, y_tr, y_te = split(X, y, task, seed)
        base = make_model("GLAI", task, seed, {})
        for label, variant in VARIANTS.items():
            model = clone(base).set_params(**variant_params(variant, base, X_tr, y_tr))
            model.fit(X_tr, y_tr)
            scores[label].append(test_score(model, X_te, y_te, task))
            if label == "default":
                scores["warm-up net"].append(warm_up_net_score(model, X_te, y_te, task))
    return {label: (statistics.median(v), max(v) - min(v)) for label, v in scores.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", required=True, help="comma-separated names")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args(argv)
    lines = [
        "| dataset | " + " | ".join(["warm-up net", *VARIANTS]) + " |",
        "| --- |" + " ---: |" * (len(VARIANTS) + 1),
    ]
    for name in args.datasets.split(","):
        result = diagnose(name, range(args.seeds))
        cells = [f"{m:.4f} (±{s / 2:.3f})" for m, s in result.values()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:])
