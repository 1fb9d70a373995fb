"""GridSearchCV over GLAI with n_jobs=1 and n_jobs=2, timed in one run.

Run from the repository root::

    python -m benchmarks.parallel

On a 2-core machine, n_jobs=2 must not be slower than n_jobs=1: joblib's
workers limit the threads of the libraries they run (torch reads
``OMP_NUM_THREADS``, which joblib sets to ``cpu_count // n_jobs`` in each
worker), so two workers do not oversubscribe the cores. Each worker pays
its start-up once (importing torch and scikit-learn, about 3 s here), so
the search must hold more work than that for two workers to win. Prints
both wall times, their ratio and each worker's torch thread count.
"""

import time

import numpy as np
from joblib import Parallel, delayed
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from benchmarks.compare import load
from skglai import GLAIClassifier

GRID = {
    "glaiclassifier__reduction_factor": [2, 4],
    "glaiclassifier__alpha": [1e-4, 1e-2],
    "glaiclassifier__structure_tol": [0.01, 0.02],
}


def _torch_threads():
    import torch

    return torch.get_num_threads()


def main():
    X, y, _ = load("tweets")  # 20,000 rows: 25 fits of about a second each
    pipe = make_pipeline(StandardScaler(), GLAIClassifier(random_state=0))
    seconds = {}
    for n_jobs in (1, 2):
        search = GridSearchCV(pipe, GRID, cv=3, n_jobs=n_jobs)
        start = time.perf_counter()
        search.fit(X, y)
        seconds[n_jobs] = time.perf_counter() - start
        print(
            f"n_jobs={n_jobs}: {seconds[n_jobs]:.1f} s, best score {search.best_score_:.4f}",
            flush=True,
        )
    threads = Parallel(n_jobs=2)(delayed(_torch_threads)() for _ in range(4))
    print(f"torch threads in n_jobs=2 workers: {sorted(set(threads))}")
    print(f"n_jobs=1 time / n_jobs=2 time = {seconds[1] / seconds[2]:.2f} (>= 1 means no slowdown)")
    return np.asarray([seconds[1], seconds[2]])


if __name__ == "__main__":
    main()
