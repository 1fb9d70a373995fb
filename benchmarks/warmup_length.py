"""Where the default warm-up is too short: hard, low-dimensional synthetic tables.

Run from the repository root::

    python -m benchmarks.warmup_length             # 3 seeds, about a minute
    python -m benchmarks.warmup_length --seeds 1 --n-samples 1000   # a quick look

On ``make_classification`` (40 features, 5 classes) and ``make_friedman1``
the warm-up's first epoch flips only a few percent of the gates (against
a third of them on the benchmark's embeddings), the flip curve then decays
slowly and steadily, and the default stopping rule ends the warm-up while
the net is still learning. This prints, per problem, the test score and
fit seconds (median over seeds) of ``MLPClassifier``/``MLPRegressor`` with
``early_stopping=True``, of GLAI at its defaults, and of GLAI with longer
warm-ups, all with ``hidden_layer_sizes=(100,)`` on the same standardised
75/25 splits.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import make_classification, make_friedman1
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skglai import GLAIClassifier, GLAIRegressor

WARMUPS = {
    "GLAI (defaults)": {},
    "GLAI, structure_patience=1, reduction_factor=1 (earlier defaults)": dict(
        structure_patience=1, reduction_factor=1
    ),
    "GLAI, structure_patience=20, structure_tol=0": dict(
        structure_patience=20, structure_tol=0.0, structure_max_epochs=100
    ),
    "GLAI, 100 warm-up epochs": dict(
        structure_patience=100, structure_tol=0.0, structure_max_epochs=100
    ),
}


def problems(n_samples):
    classification = make_classification(
        n_samples, 40, n_informative=15, n_classes=5, random_state=0
    )
    regression = make_friedman1(n_samples, noise=1.0, random_state=0)
    return {
        "make_classification (40 features, 5 classes)": (classification, False),
        "make_friedman1 (10 features)": (regression, True),
    }


def models(is_regression, seed):
    mlp = MLPRegressor if is_regression else MLPClassifier
    glai = GLAIRegressor if is_regression else GLAIClassifier
    yield "MLP (early_stopping=True)", mlp(early_stopping=True, max_iter=500, random_state=seed)
    for name, params in WARMUPS.items():
        yield name, glai(random_state=seed, **params)


def run(n_samples, seeds):
    """``{(problem, model): [(score, seconds), ...]}`` over the seeds."""
    results = {}
    for problem, ((X, y), is_regression) in problems(n_samples).items():
        for seed in seeds:
            X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=seed)
            for name, model in models(is_regression, seed):
                pipe = make_pipeline(StandardScaler(), model)
                with warnings.catch_warnings():
                    # The long warm-ups stop at structure_max_epochs by design.
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    start = time.perf_counter()
                    pipe.fit(X_train, y_train)
                    seconds = time.perf_counter() - start
                results.setdefault((problem, name), []).append(
                    (pipe.score(X_test, y_test), seconds)
                )
    return results


def to_markdown(results):
    lines = ["| problem | model | test score | fit s |", "| --- | --- | ---: | ---: |"]
    for (problem, name), runs in results.items():
        scores, seconds = np.array(runs).T
        lines.append(f"| {problem} | {name} | {np.median(scores):.4f} | {np.median(seconds):.2f} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--n-samples", type=int, default=5000)
    args = parser.parse_args(argv)
    markdown = to_markdown(run(args.n_samples, range(args.seeds)))
    print(markdown)
    return markdown


if __name__ == "__main__":
    main()
