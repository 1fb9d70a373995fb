"""How GLAI's gap to the MLP grows with the number of classes, on synthetic data.

Run from the repository root::

    python -m benchmarks.many_classes
    python -m benchmarks.many_classes --classes 10,100 --seeds 1

The suite's real datasets have at most 34 classes. This benchmark draws
:func:`sklearn.datasets.make_classification` problems with ``--classes``
classes (``--rows-per-class`` rows each, 256 features of which 64 are
informative, one cluster per class) and fits, on the same 80/20 stratified
split, GLAI at default settings, GLAI with ``reduction_factor=1`` (a
full-width warm-up net) and the equal-parameter torch MLP of the suite. It
prints the median over seeds of the test accuracy and fit seconds, each
fit timed as the fastest of ``--repeats``.
"""

import argparse
import statistics
import sys

import numpy as np
import torch
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

from benchmarks.compare import fastest_fit
from benchmarks.suite import HIDDEN
from benchmarks.torch_mlp import TorchMLP
from skglai import GLAIClassifier

MODELS = {
    "GLAI": lambda seed: GLAIClassifier(HIDDEN, random_state=seed),
    "GLAI, reduction_factor=1": lambda seed: GLAIClassifier(
        HIDDEN, reduction_factor=1, random_state=seed
    ),
    "torch MLP": lambda seed: TorchMLP(HIDDEN, random_state=seed),
}


def problem(n_classes, rows_per_class, seed):
    """An 80/20 split of a ``make_classification`` problem with ``n_classes`` classes."""
    X, y = make_classification(
        n_samples=n_classes * rows_per_class,
        n_features=256,
        n_informative=64,
        n_redundant=0,
        n_classes=n_classes,
        n_clusters_per_class=1,
        class_sep=2.0,
        random_state=seed,
    )
    return train_test_split(X.astype(np.float32), y, test_size=0.2, random_state=seed, stratify=y)


def run(n_classes, rows_per_class, seeds, repeats):
    """``{model: (median accuracy, median fit seconds)}`` over the seeds."""
    results = {label: [] for label in MODELS}
    for seed in seeds:
        X_tr, X_te, y_tr, y_te = problem(n_classes, rows_per_class, seed)
        for label, make in MODELS.items():
            seconds, model = fastest_fit(make(seed), X_tr, y_tr, 0.2, repeats)
            results[label].append((float((model.predict(X_te) == y_te).mean()), seconds))
    return {
        label: tuple(statistics.median(run[i] for run in runs) for i in range(2))
        for label, runs in results.items()
    }


def to_row(n_classes, result):
    mlp_score, mlp_s = result["torch MLP"]
    cells = [
        f"{score:.4f} / {seconds:.2f}s ({100 * (score - mlp_score):+.1f}, {mlp_s / seconds:.2f}x)"
        for score, seconds in (result[label] for label in list(MODELS)[:2])
    ]
    return f"| {n_classes} | {' | '.join(cells)} | {mlp_score:.4f} / {mlp_s:.2f}s |"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", default="10,25,50,100", help="comma-separated class counts")
    parser.add_argument("--rows-per-class", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3, help="time each fit as the fastest of")
    args = parser.parse_args(argv)
    # Building a torch optimiser imports torch._dynamo once per process; pay it
    # before the first timed fit.
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    lines = [
        "| classes | GLAI (gap, ratio) | GLAI, reduction_factor=1 (gap, ratio) | torch MLP |",
        "| ---: | --- | --- | --- |",
    ]
    results = {}
    for n_classes in (int(k) for k in args.classes.split(",")):
        results[n_classes] = run(n_classes, args.rows_per_class, range(args.seeds), args.repeats)
        lines.append(to_row(n_classes, results[n_classes]))
        print(lines[-1], flush=True)
    print("\n".join(lines))
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
