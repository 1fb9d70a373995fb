"""The Dask acceptance check: 3M x 32 float32 rows fitted with a bounded client.

Run from the repository root::

    python -m benchmarks.dask_done                     # 3,000,000 rows, 2 workers
    python -m benchmarks.dask_done --rows 500000       # a quicker look

Draws ``--rows`` x 32 float32 rows on the workers of a two-worker
``LocalCluster`` (366 MB at 3M rows, never on the client), labels them with
the teacher net of :mod:`benchmarks.dask_scale`, fits ``GLAIClassifier`` on
them and reports the client's peak resident-set growth during the fit (the
scheduler runs in the client's process and is counted). Then fits the same
estimator in memory on the first 200,000 of the same rows and compares the
accuracy of both on 100,000 fresh rows, the Dask model's predictions lazy.
Passes when the growth is under 150 MB and the Dask model scores no more
than 0.5 points below the NumPy one.
"""

import argparse

from benchmarks.dask_scale import fit_measured, generated, lazy_accuracy

GROWTH_LIMIT = 150e6
SCORE_MARGIN = 0.005


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--numpy-rows", type=int, default=200_000)
    parser.add_argument("--hidden", type=int, default=100)
    parser.add_argument("--chunk-rows", type=int, default=250_000)
    args = parser.parse_args(argv)

    from distributed import Client, LocalCluster

    from skglai import GLAIClassifier

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster),
    ):
        X, y = generated(args.rows, 32, args.chunk_rows)
        X_test, y_test = generated(100_000, 32, args.chunk_rows, seed=999)
        model = GLAIClassifier((args.hidden,), random_state=0)
        seconds, growth = fit_measured(model, X, y)
        lazy = model.predict(X_test)
        dask_accuracy = lazy_accuracy(model, X_test, y_test)
        X_small, y_small = (a[: args.numpy_rows].compute() for a in (X, y))
        X_eval, y_eval = X_test.compute(), y_test.compute()

    reference = GLAIClassifier((args.hidden,), random_state=0).fit(X_small, y_small)
    numpy_accuracy = float(reference.score(X_eval, y_eval))
    print(f"Dask fit, {args.rows:,} x 32 float32 ({X.nbytes / 1e6:.0f} MB) on 2 workers:")
    print(f"  {seconds:.1f} s, client peak growth {growth / 1e6:.0f} MB (limit 150 MB)")
    print(
        f"  warm-up {model.fit_times_['structure']:.1f} s on a sample, convex phase "
        f"{model.fit_times_['quantities']:.1f} s ({model.n_iter_} passes of {model.solver_})"
    )
    print(f"  lazy predictions ({type(lazy).__name__}): accuracy {dask_accuracy:.4f}")
    print(f"NumPy fit on {args.numpy_rows:,} of the same rows: accuracy {numpy_accuracy:.4f}")
    passed = growth < GROWTH_LIMIT and dask_accuracy >= numpy_accuracy - SCORE_MARGIN
    print("PASS" if passed else "FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
