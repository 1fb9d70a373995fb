"""Write the small datasets shipped in ``skglai/datasets/data/`` from the benchmark caches.

Run from the repository root after ``python -m benchmarks.build_data``::

    python -m benchmarks.build_package_data

The benchmark files keep their rows in a fixed random order (seed 0), so the
first rows of each are a random subsample. Features are stored as float16
(embeddings, image features) or float32 (the table) to keep the package small.
"""

from pathlib import Path

import numpy as np

ROOT = Path(__file__).parent
SOURCE, TARGET = ROOT / "data", ROOT.parent / "skglai" / "datasets" / "data"
ROWS = {"tweets_minilm": 3000, "mnist_effnet": 2000, "regression_diamonds": 10000}


def main():
    TARGET.mkdir(parents=True, exist_ok=True)
    for name, n_rows in ROWS.items():
        with np.load(SOURCE / f"{name}.npz", allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
        out = {"X": arrays["X"][:n_rows], "y": arrays["y"][:n_rows]}
        for key in ("class_names", "feature_names", "target_name"):
            if key in arrays:
                out[key] = arrays[key]
        out["source_index"] = arrays["source_index"][:n_rows]
        np.savez_compressed(TARGET / f"{name}.npz", **out)
        print(name, out["X"].shape, (TARGET / f"{name}.npz").stat().st_size, "bytes")


if __name__ == "__main__":
    main()
