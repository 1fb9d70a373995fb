"""Peak memory of fitting GLAI on a large synthetic problem.

Run from the repository root::

    python -m benchmarks.memory                  # 1,000,000 x 384 float32, 10 classes
    python -m benchmarks.memory --rows 200000    # a quicker look

Generates the data, records the process's resident set, fits
``GLAIClassifier`` at default settings and reports the peak resident set
during the fit (sampled every 5 ms from /proc/self/statm) beside the
input's size. The target: the fit's peak stays
within twice the input's size plus O(parameters).
"""

import argparse
import resource
import threading
import time

import numpy as np


def current_rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


class PeakSampler:
    """Samples the resident set every few milliseconds while a block runs."""

    def __init__(self, interval=0.005):
        self.interval, self.peak, self._stop = interval, 0, threading.Event()

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, current_rss_bytes())
            time.sleep(self.interval)

    def __enter__(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, current_rss_bytes())


def make_data(n_rows, n_features, n_classes, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_rows, n_features), dtype=np.float32)
    W = rng.standard_normal((n_features, n_classes), dtype=np.float32)
    scores = X @ W + 0.5 * np.abs(X[:, :n_classes]) * 3
    return X, scores.argmax(axis=1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=384)
    parser.add_argument("--classes", type=int, default=10)
    args = parser.parse_args(argv)

    from skglai import GLAIClassifier

    X, y = make_data(args.rows, args.features, args.classes)
    baseline = current_rss_bytes()
    start = time.perf_counter()
    with PeakSampler() as sampler:
        clf = GLAIClassifier(random_state=0).fit(X, y)
    seconds = time.perf_counter() - start
    peak = sampler.peak
    input_bytes = X.nbytes
    params_bytes = clf.n_params_ * X.itemsize
    fit_extra = peak - baseline
    print(
        f"input: {args.rows} x {args.features} float32 = {input_bytes / 2**30:.2f} GiB; "
        f"{args.classes} classes; fit {seconds:.1f} s; phases "
        + ", ".join(f"{k} {v:.1f} s" for k, v in clf.fit_times_.items())
    )
    print(
        f"resident before fit {baseline / 2**30:.2f} GiB (data included), "
        f"peak {peak / 2**30:.2f} GiB"
    )
    print(
        f"extra memory during fit: {fit_extra / 2**30:.2f} GiB = "
        f"{fit_extra / input_bytes:.2f} x input (target <= 2 x input + O(params); "
        f"params {clf.n_params_} = {params_bytes / 2**20:.1f} MiB)"
    )
    print(
        f"train accuracy {clf.score(X[:100_000], y[:100_000]):.4f}, "
        f"warm-up epochs {clf.n_structure_epochs_}, convex iterations {clf.n_iter_} ({clf.solver_})"
    )


if __name__ == "__main__":
    main()
