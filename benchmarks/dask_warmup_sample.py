"""Is the Dask fit's warm-up sample enough? Structure and score against all rows.

Run from the repository root::

    python -m benchmarks.dask_warmup_sample                    # 200,000 rows
    python -m benchmarks.dask_warmup_sample --rows 50000 --bounds 5000 all

Fits ``GLAIClassifier`` on the same Dask array (``--rows`` x 32 float32,
the teacher-net labels of :mod:`benchmarks.dask_scale`) on a two-worker
``LocalCluster`` with the warm-up sample bounded at each of ``--bounds``
rows (``all``: the warm-up sees every training row, as an in-memory fit
does), and prints the warm-up's epochs, whether its gates settled, the
last epoch's gate flips, and the accuracy on 100,000 fresh rows.
"""

import argparse

from benchmarks.dask_scale import generated, lazy_accuracy


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--bounds", nargs="+", default=["10000", "30000", "100000", "all"])
    parser.add_argument("--hidden", type=int, default=64)
    args = parser.parse_args(argv)

    from distributed import Client, LocalCluster

    from skglai import GLAIClassifier, _dask

    print("| warm-up rows | epochs | settled | last flips | accuracy | fit (s) |")
    print("|---|---|---|---|---|---|")
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster),
    ):
        X, y = generated(args.rows, 32, 25_000)
        X_test, y_test = generated(100_000, 32, 25_000, seed=999)
        for bound in args.bounds:
            _dask.WARMUP_SAMPLE_ROWS = args.rows if bound == "all" else int(bound)
            _dask.WARMUP_SAMPLE_BYTES = 1 << 40
            model = GLAIClassifier((args.hidden,), random_state=0).fit(X, y)
            print(
                f"| {bound} | {model.n_structure_epochs_} | {model.structure_settled_} | "
                f"{model.structure_change_[-1]:.4f} | {lazy_accuracy(model, X_test, y_test):.4f} "
                f"| {sum(model.fit_times_.values()):.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
