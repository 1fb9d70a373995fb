"""GLAI side by side with the MLPs it replaces, on real cached data.

Run from the repository root::

    python -m benchmarks.compare                    # all datasets, 3 seeds
    python -m benchmarks.compare --datasets digits --seeds 1   # a quick look

For each dataset and seed, on the same standardised 80/20 split, in one
process, each fit timed as the fastest of ``--repeats`` identical fits (the
same data and seed give the same model; a busy host only ever adds time),
each after ``--pause`` idle seconds:
``GLAIClassifier``/``GLAIRegressor`` at default settings, the
equal-parameter torch MLP of :mod:`benchmarks.torch_mlp`,
``sklearn.neural_network.MLP*`` with ``early_stopping=True``, and a linear
floor (LogisticRegression / Ridge). Reports medians over seeds: fit seconds,
test accuracy or R^2, trained parameters, epochs or passes, GLAI's per-phase
seconds, and the time ratios MLP / GLAI. Also measures the GFLOP/s of GLAI's
path operator (forward + transpose over the training set) beside
``torch.matmul``'s on the same shapes. Writes ``results.csv`` and
``results.md`` to ``--out`` (default ``doc/benchmarks``).
"""

import argparse
import copy
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

from benchmarks.torch_mlp import TorchMLP, timed_fit
from skglai import GLAIClassifier, GLAIRegressor
from skglai._paths import PathOperator, compute_gates

DATA = Path(__file__).parent / "data"
HIDDEN = (100,)  # the estimators' default hidden_layer_sizes


def load(name):
    """``(X float32, y, task)`` of a benchmark dataset."""
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        return X.astype(np.float32), y, "classification"
    files = {"tweets": "tweets_minilm", "mnist": "mnist_effnet", "diamonds": "regression_diamonds"}
    with np.load(DATA / f"{files[name]}.npz", allow_pickle=False) as d:
        X, y = d["X"].astype(np.float32), d["y"]
    task = "regression" if name == "diamonds" else "classification"
    return X, (y.astype(np.float32) if task == "regression" else y), task


def models(task, seed):
    if task == "classification":
        return {
            "GLAI": GLAIClassifier(random_state=seed),
            "torch MLP": TorchMLP(HIDDEN, task, random_state=seed),
            "sklearn MLP": MLPClassifier(
                hidden_layer_sizes=HIDDEN, early_stopping=True, random_state=seed
            ),
            "linear": LogisticRegression(max_iter=1000),
        }
    return {
        "GLAI": GLAIRegressor(random_state=seed),
        "torch MLP": TorchMLP(HIDDEN, task, random_state=seed),
        "sklearn MLP": MLPRegressor(
            hidden_layer_sizes=HIDDEN, early_stopping=True, random_state=seed
        ),
        "linear": Ridge(),
    }


def n_params(model):
    if hasattr(model, "n_params_"):
        return int(model.n_params_)
    if hasattr(model, "coefs_"):
        return int(sum(w.size for w in model.coefs_) + sum(b.size for b in model.intercepts_))
    return int(np.size(model.coef_) + np.size(model.intercept_))


def passes(model):
    if isinstance(model, (GLAIClassifier, GLAIRegressor)):
        return f"{model.n_structure_epochs_}+{model.n_iter_}"
    if hasattr(model, "n_epochs_"):
        return str(model.n_epochs_)
    n_iter = getattr(model, "n_iter_", None)
    return "-" if n_iter is None else str(int(np.max(n_iter)))


def score(model, X, y, task):
    if task == "classification":
        return float((model.predict(X) == y).mean())
    from sklearn.metrics import r2_score

    return float(r2_score(y, model.predict(X)))


def run_dataset(name, seeds, pause, repeats):
    X, y, task = load(name)
    rows = []
    for seed in seeds:
        X_tr, X_te, y_tr, y_te = train_test_split(
            X, y, test_size=0.2, random_state=seed, stratify=y if task == "classification" else None
        )
        scaler = StandardScaler().fit(X_tr)
        X_tr, X_te = (
            scaler.transform(X_tr).astype(np.float32),
            scaler.transform(X_te).astype(np.float32),
        )
        for label, unfitted in models(task, seed).items():
            seconds, model = fastest_fit(unfitted, X_tr, y_tr, pause, repeats)
            row = dict(
                dataset=name,
                seed=seed,
                model=label,
                fit_s=seconds,
                score=score(model, X_te, y_te, task),
                params=n_params(model),
                passes=passes(model),
            )
            if label == "GLAI":
                row.update({f"{k}_s": v for k, v in model.fit_times_.items()}, solver=model.solver_)
                row.update(operator_gflops(model, X_tr))
            rows.append(row)
            print(
                f"  {name:<9} seed {seed} {label:<12} {seconds:7.2f}s  "
                f"score {row['score']:.4f}  passes {row['passes']}",
                flush=True,
            )
    return rows, task


def fastest_fit(unfitted, X, y, pause, repeats, repeat_below=float("inf")):
    """``(seconds, model)`` of the fastest of ``repeats`` fits of fresh copies of ``unfitted``.

    Each fit starts on an idle machine: the BLAS and OpenMP threads of the
    previous fit spin for a while after it returns (measured: without the
    pause GLAI's digits fit took 0.12 s instead of 0.07 s). A fit that takes
    ``repeat_below`` seconds or more is not repeated: the noise that repeats
    filter out is a fixed few milliseconds, which only short fits feel.
    """
    best = None
    for _ in range(repeats):
        model = copy.deepcopy(unfitted)
        time.sleep(pause)
        seconds = timed_fit(model, X, y)
        if best is None or seconds < best[0]:
            best = (seconds, model)
        if seconds >= repeat_below:
            break
    return best


def operator_gflops(model, X, repeats=3):
    """GFLOP/s of a forward + transpose pass of the fitted path operator vs torch.matmul."""
    X_t = torch.as_tensor(X)
    paths = model.paths_
    theta, coef = torch.as_tensor(paths.stacked_theta()), torch.as_tensor(paths.coef)
    net = model._structural_net(theta.dtype, "cpu")
    op = PathOperator(paths, model.n_outputs_, theta.dtype, "cpu", net)
    acts = op.activations(compute_gates(net, X_t))
    n, d, q = X.shape[0], X.shape[1] + 1, theta.shape[0]
    # The forward U = X~ Theta^T and the transpose's dU^T X~, as in an L-BFGS pass.
    flops = 2 * 2 * n * d * q
    start = time.perf_counter()
    for _ in range(repeats):
        out = op.forward(X_t, acts, theta, coef)
        op.transpose(X_t, acts, torch.ones_like(out))
    path_s = (time.perf_counter() - start) / repeats
    W = torch.randn(X.shape[1], q)
    start = time.perf_counter()
    for _ in range(2 * repeats):
        X_t @ W
    matmul_s = (time.perf_counter() - start) / repeats
    return {"path_gflops": flops / path_s / 1e9, "matmul_gflops": flops / matmul_s / 1e9}


def summarise(rows):
    """Median over seeds for each (dataset, model), and the time ratios."""
    import statistics

    table = []
    keys = sorted(
        {(r["dataset"], r["model"]) for r in rows},
        key=lambda k: (DATASETS.index(k[0]), MODELS.index(k[1])),
    )
    for dataset, model in keys:
        group = [r for r in rows if r["dataset"] == dataset and r["model"] == model]
        entry = {"dataset": dataset, "model": model}
        for field in [
            "fit_s",
            "score",
            "params",
            "structure_s",
            "paths_s",
            "quantities_s",
            "path_gflops",
            "matmul_gflops",
        ]:
            values = [r[field] for r in group if field in r]
            if values:
                entry[field] = statistics.median(values)
        entry["passes"] = group[len(group) // 2]["passes"]
        if "solver" in group[0]:
            entry["solver"] = group[0]["solver"]
        table.append(entry)
    for dataset in {e["dataset"] for e in table}:
        glai = next(e for e in table if e["dataset"] == dataset and e["model"] == "GLAI")
        for e in table:
            if e["dataset"] == dataset:
                e["time_vs_glai"] = e["fit_s"] / glai["fit_s"]
    return table


DATASETS = ["digits", "tweets", "mnist", "diamonds"]
MODELS = ["GLAI", "torch MLP", "sklearn MLP", "linear"]


def to_markdown(table, command):
    lines = [
        f"Command: `{command}` (torch {torch.__version__}, {torch.get_num_threads()} threads). "
        "Medians over seeds. `x GLAI time` = this model's fit time / GLAI's.",
        "",
        "| dataset | model | fit s | test score | params | epochs/passes | x GLAI time "
        "| GLAI phases s (structure / paths / quantities) |",
        "| --- | --- | ---: | ---: | ---: | --- | ---: | --- |",
    ]
    for e in table:
        phases = (
            f"{e['structure_s']:.2f} / {e['paths_s']:.2f} / {e['quantities_s']:.2f} ({e['solver']})"
            if e["model"] == "GLAI"
            else ""
        )
        lines.append(
            f"| {e['dataset']} | {e['model']} | {e['fit_s']:.2f} | {e['score']:.4f} "
            f"| {int(e['params'])} | {e['passes']} | {e['time_vs_glai']:.2f} | {phases} |"
        )
    lines += [
        "",
        "| dataset | path operator GFLOP/s | torch.matmul GFLOP/s (same shapes) |",
        "| --- | ---: | ---: |",
    ]
    for e in table:
        if e["model"] == "GLAI":
            lines.append(f"| {e['dataset']} | {e['path_gflops']:.1f} | {e['matmul_gflops']:.1f} |")
    ratios = [e["time_vs_glai"] for e in table if e["model"] == "torch MLP"]
    sk = [e["time_vs_glai"] for e in table if e["model"] == "sklearn MLP"]
    lines += [
        "",
        f"torch MLP time / GLAI time: median {np.median(ratios):.2f}, min {min(ratios):.2f}; "
        f"sklearn MLP time / GLAI time: median {np.median(sk):.2f}, min {min(sk):.2f}.",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch intra-op threads (default: torch's)"
    )
    parser.add_argument(
        "--pause", type=float, default=0.5, help="idle seconds before each timed fit"
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="time each fit as the fastest of this many"
    )
    parser.add_argument("--out", default="doc/benchmarks")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    command = "python -m benchmarks.compare" + ("" if argv is None else " " + " ".join(argv))
    # Building a torch optimiser imports torch._dynamo once per process (about
    # 1.3 s); pay it here so that no model's first timed fit includes it.
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    rows = []
    for name in args.datasets.split(","):
        rows += run_dataset(name, list(range(args.seeds)), args.pause, args.repeats)[0]
    table = summarise(rows)
    markdown = to_markdown(table, command)
    print("\n" + markdown)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    import csv

    with open(out / "results.csv", "w", newline="") as f:
        fields = sorted(
            {k for r in rows for k in r},
            key=lambda k: list(rows[0]).index(k) if k in rows[0] else 99,
        )
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    (out / "results.md").write_text(markdown)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:] or None)
