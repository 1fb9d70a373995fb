"""Fit time and client memory of GLAI on Dask arrays, against the number of rows.

Run from the repository root::

    python -m benchmarks.dask_scale                                # 1M, 3M, 10M rows; 1, 2 workers
    python -m benchmarks.dask_scale --sizes 200000 1000000 --workers 2 --mlp-rows 200000

The rows (``--features`` float32 columns, standard normal) are drawn on the
workers, block by block, and labelled there by a fixed random ReLU teacher
net (4 classes): nothing of ``X`` exists on the client. For each number of
workers a ``LocalCluster`` (one thread per worker) is started; for each size
``GLAIClassifier(hidden_layer_sizes)`` is fitted and timed, and the
client's peak resident set during the fit (the kernel's high-water mark,
reset before each fit; the scheduler runs in the client's process and is
counted) is reported as growth over its resident set before the fit. The
accuracy is on 100,000 fresh rows, predicted lazily. Then scikit-learn's
``MLPClassifier`` with the same hidden sizes is fitted in memory on
``--mlp-rows`` of the same rows, as the point of comparison. Prints a
Markdown table.
"""

import argparse
import resource
import time

import numpy as np

N_CLASSES = 4
TEACHER_SEED = 42


def teacher_labels(X):
    """Labels of a fixed random ReLU net (the same for every block and size)."""
    teacher = np.random.RandomState(TEACHER_SEED)
    hidden = teacher.standard_normal((X.shape[1], 32)).astype(np.float32)
    out = teacher.standard_normal((32, N_CLASSES)).astype(np.float32)
    return (np.maximum(X @ hidden, 0) @ out).argmax(axis=1)


def generated(n_rows, n_features, chunk_rows, seed=0):
    """``(X, y)`` as lazy Dask arrays, each block drawn and labelled on a worker."""
    import dask.array as da

    X = da.random.default_rng(seed).standard_normal(
        (n_rows, n_features), chunks=(chunk_rows, n_features), dtype=np.float32
    )
    return X, X.map_blocks(teacher_labels, drop_axis=1, dtype=np.int64)


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def reset_peak():
    """Reset the kernel's high-water mark of this process's resident set (Linux)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def peak_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def fit_measured(model, X, y):
    """``(seconds, client peak growth in bytes)`` of ``model.fit(X, y)``."""
    before = rss_bytes()
    reset_peak()
    start = time.perf_counter()
    model.fit(X, y)
    return time.perf_counter() - start, peak_bytes() - before


def lazy_accuracy(model, X_test, y_test):
    return float((model.predict(X_test).compute() == y_test.compute()).mean())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 3_000_000, 10_000_000])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--chunk-rows", type=int, default=250_000)
    parser.add_argument("--mlp-rows", type=int, default=1_000_000, help="0 skips the MLP")
    parser.add_argument("--mlp-max-iter", type=int, default=200)
    args = parser.parse_args(argv)

    from distributed import Client, LocalCluster

    from skglai import GLAIClassifier

    rows = []
    for n_workers in args.workers:
        with (
            LocalCluster(
                n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster),
        ):
            X_test, y_test = generated(100_000, args.features, args.chunk_rows, seed=999)
            for n_rows in args.sizes:
                X, y = generated(n_rows, args.features, args.chunk_rows)
                model = GLAIClassifier((args.hidden,), random_state=0)
                seconds, growth = fit_measured(model, X, y)
                accuracy = lazy_accuracy(model, X_test, y_test)
                rows.append(("GLAI (Dask)", n_workers, n_rows, seconds, growth, accuracy))
                print(
                    f"GLAI, {n_workers} worker(s), {n_rows:,} rows: {seconds:.1f} s, client "
                    f"peak +{growth / 2**20:.0f} MiB, accuracy {accuracy:.4f} "
                    f"({model.n_iter_} passes of {model.solver_})",
                    flush=True,
                )
    if args.mlp_rows:
        rows.append(_mlp_row(args))

    print("\n| model | workers | rows | fit (s) | client peak growth (MiB) | accuracy |")
    print("|---|---|---|---|---|---|")
    for name, workers, n_rows, seconds, growth, accuracy in rows:
        print(
            f"| {name} | {workers} | {n_rows:,} | {seconds:.1f} | {growth / 2**20:.0f} | "
            f"{accuracy:.4f} |"
        )


def _mlp_row(args):
    """scikit-learn's MLP in memory on ``--mlp-rows`` of the same rows."""
    import dask
    from sklearn.neural_network import MLPClassifier

    with dask.config.set(scheduler="threads"):
        X, y = dask.compute(*generated(args.mlp_rows, args.features, args.chunk_rows))
        X_test, y_test = dask.compute(*generated(100_000, args.features, args.chunk_rows, 999))
    mlp = MLPClassifier((args.hidden,), early_stopping=True, max_iter=args.mlp_max_iter)
    mlp.set_params(random_state=0)
    seconds, growth = fit_measured(mlp, X, y)
    accuracy = float(mlp.score(X_test, y_test))
    print(f"sklearn MLP, {args.mlp_rows:,} rows in memory: {seconds:.1f} s, {accuracy:.4f}")
    return ("sklearn MLPClassifier (in memory)", "-", args.mlp_rows, seconds, growth, accuracy)


if __name__ == "__main__":
    main()
