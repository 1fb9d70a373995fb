"""The broad benchmark: GLAI at default settings against the MLPs it replaces.

Run from the repository root::

    python -m benchmarks.suite --list                  # datasets, halves, categories
    python -m benchmarks.suite --half tuning           # the half defaults are chosen on
    python -m benchmarks.suite --half confirm          # the held-back half (run once)
    python -m benchmarks.suite --half fresh            # the datasets added third
    python -m benchmarks.suite --half holdout          # the half added last (confirms)
    python -m benchmarks.suite --datasets wine,digits --seeds 1 --json out.json

The datasets (registered in :mod:`benchmarks.datasets`, built offline by
:mod:`benchmarks.build_suite_data`) were split once into a *tuning* half and
a *confirmation* half, each covering every category. Defaults are chosen on
the tuning half only. The confirmation half was run once at the first
defaults; a *fresh* half of datasets added later (every category but images)
was then run once at the second. A *holdout* half, added after that run from
tables no other half uses, had no model but the builder's linear sanity score
run on it until the current defaults were fixed on the other three, and was
then run once at them. doc/benchmarks.rst says how each half was used.

For each dataset and seed, on the same 80/20 split (stratified for single-label
classification), the data as a user has it (embeddings raw, tables one-hot
and standardised), in one process:

- ``GLAI``: ``GLAIClassifier``/``GLAIRegressor`` at default settings (or with
  ``--glai-params``);
- ``torch MLP``: the equal-parameter torch MLP of :mod:`benchmarks.torch_mlp`
  on the same input, and ``torch MLP (std)`` on standardised input;
- ``sklearn MLP``: ``MLPClassifier``/``MLPRegressor`` with early stopping;
- ``linear``: ``LogisticRegression``/``Ridge`` (the floor).

Each fit is timed as the fastest of ``--repeats`` identical fits after
``--pause`` idle seconds (a fit of ``--repeat-below`` seconds or more runs
once). The report gives medians over seeds: test score
(accuracy, subset accuracy for multilabel, R^2), fit seconds, GLAI's gap to
the torch MLP in points, and torch MLP time / GLAI time.
"""

import argparse
import json
import shlex
import statistics
import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.multiclass import OneVsRestClassifier
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

from benchmarks import datasets as registry
from benchmarks.compare import fastest_fit
from benchmarks.torch_mlp import TorchMLP
from skglai import GLAIClassifier, GLAIRegressor

HIDDEN = (100,)  # the estimators' default hidden_layer_sizes
MODELS = ["GLAI", "torch MLP", "torch MLP (std)", "sklearn MLP", "linear"]
CLASSIFICATION = ("binary", "multiclass")
REGRESSION = ("regression", "multioutput")


def spec_of(name):
    for spec in registry.DATASETS:
        if spec.name == name:
            return spec
    raise SystemExit(f"unknown dataset {name!r}; see --list")


def torch_task(task):
    return "classification" if task in CLASSIFICATION else task


def make_model(label, task, seed, glai_params):
    """A fresh, unfitted model of the benchmark."""
    regression = task in REGRESSION
    if label == "GLAI":
        cls = GLAIRegressor if regression else GLAIClassifier
        return cls(random_state=seed, **glai_params)
    if label.startswith("torch MLP"):
        return TorchMLP(HIDDEN, torch_task(task), random_state=seed)
    if label == "sklearn MLP":
        cls = MLPRegressor if regression else MLPClassifier
        return cls(hidden_layer_sizes=HIDDEN, early_stopping=True, random_state=seed)
    if regression:
        return Ridge()
    if task == "multilabel":
        return OneVsRestClassifier(LogisticRegression(max_iter=1000))
    return LogisticRegression(max_iter=1000)


def test_score(model, X, y, task):
    """Accuracy (subset accuracy for multilabel) or R^2 (uniform over targets)."""
    predicted = model.predict(X)
    if task in REGRESSION:
        return float(r2_score(y, predicted))
    if task == "multilabel":
        return float((np.asarray(predicted) == y).all(axis=1).mean())
    return float((predicted == y).mean())


def split(X, y, task, seed):
    stratify = y if task in CLASSIFICATION else None
    return train_test_split(X, y, test_size=0.2, random_state=seed, stratify=stratify)


def run_dataset(name, seeds, models, args, glai_params):
    spec = spec_of(name)
    task = spec.task
    X, y = registry.load(name)
    rows = []
    for seed in seeds:
        X_tr, X_te, y_tr, y_te = split(X, y, task, seed)
        scaler = StandardScaler().fit(X_tr)
        standardised = (
            scaler.transform(X_tr).astype(np.float32),
            scaler.transform(X_te).astype(np.float32),
        )
        for label in models:
            train, test = standardised if label == "torch MLP (std)" else (X_tr, X_te)
            unfitted = make_model(label, task, seed, glai_params)
            seconds, model = fastest_fit(
                unfitted, train, y_tr, args.pause, args.repeats, args.repeat_below
            )
            row = dict(
                dataset=name,
                seed=seed,
                model=label,
                fit_s=seconds,
                score=test_score(model, test, y_te, task),
            )
            if label == "GLAI":
                row.update({f"{k}_s": v for k, v in model.fit_times_.items()})
                row.update(
                    solver=model.solver_,
                    structure_epochs=int(model.n_structure_epochs_),
                    n_iter=int(model.n_iter_),
                    n_params=int(model.n_params_),
                )
            rows.append(row)
            print(
                f"  {name:<16} seed {seed} {label:<16} {seconds:7.2f}s  score {row['score']:.4f}",
                flush=True,
            )
    return rows


def summarise(rows):
    """Per dataset: the median over seeds of every model's score and fit time."""
    table = {}
    for row in rows:
        entry = table.setdefault(row["dataset"], {}).setdefault(row["model"], [])
        entry.append(row)
    summary = []
    for name, by_model in table.items():
        entry = {"dataset": name}
        for label, group in by_model.items():
            entry[label] = {
                "score": statistics.median(r["score"] for r in group),
                "fit_s": statistics.median(r["fit_s"] for r in group),
            }
            if label == "GLAI":
                for key in ("structure_epochs", "n_iter"):
                    entry[label][key] = statistics.median(r[key] for r in group)
        if "GLAI" in entry and "torch MLP" in entry:
            glai, mlp = entry["GLAI"], entry["torch MLP"]
            entry["gap_points"] = 100 * (glai["score"] - mlp["score"])
            entry["time_ratio"] = mlp["fit_s"] / glai["fit_s"]
            best = max(entry[m]["score"] for m in MODELS[1:4] if m in entry)
            entry["gap_to_best_points"] = 100 * (glai["score"] - best)
        summary.append(entry)
    return summary


def to_markdown(summary, command):
    lines = [
        f"Command: `{command}` (torch {torch.__version__}, {torch.get_num_threads()} threads). "
        "Medians over seeds of test score (accuracy; subset accuracy for multilabel; R^2) "
        "and fit seconds. Gap: GLAI minus the torch MLP on the same input, in points. "
        "Ratio: torch MLP time / GLAI time.",
        "",
        "| dataset | half | category | GLAI | torch MLP | gap | ratio | torch MLP (std) "
        "| sklearn MLP | linear |",
        "| --- | --- | --- | --- | --- | ---: | ---: | --- | --- | --- |",
    ]

    def cell(entry, label):
        if label not in entry:
            return "-"
        return f"{entry[label]['score']:.4f} / {entry[label]['fit_s']:.2f}s"

    for entry in summary:
        spec = spec_of(entry["dataset"])
        gap = f"{entry['gap_points']:+.2f}" if "gap_points" in entry else "-"
        ratio = f"{entry['time_ratio']:.2f}" if "time_ratio" in entry else "-"
        lines.append(
            f"| {entry['dataset']} | {spec.half} | {', '.join(spec.categories)} "
            f"| {cell(entry, 'GLAI')} | {cell(entry, 'torch MLP')} | {gap} | {ratio} "
            f"| {cell(entry, 'torch MLP (std)')} | {cell(entry, 'sklearn MLP')} "
            f"| {cell(entry, 'linear')} |"
        )
    compared = [e for e in summary if "gap_points" in e]
    if compared:
        held = sum(e["gap_points"] >= -0.5 for e in compared)
        fast = sum(e["time_ratio"] >= 1.67 for e in compared)
        best = sum(e["gap_to_best_points"] >= -0.5 for e in compared)
        ratios = [e["time_ratio"] for e in compared]
        lines += [
            "",
            f"Within 0.5 points of the torch MLP: {held} of {len(compared)}. "
            f"Within 0.5 points of the best MLP (torch raw, torch standardised, sklearn): "
            f"{best} of {len(compared)}. Torch MLP time / GLAI time >= 1.67: {fast} of "
            f"{len(compared)}; median {statistics.median(ratios):.2f}, min {min(ratios):.2f}.",
        ]
    return "\n".join(lines) + "\n"


def list_datasets():
    print(f"{'dataset':<18} {'half':<8} {'task':<11} {'category':<26} shape")
    for spec in registry.DATASETS:
        print(
            f"{spec.name:<18} {spec.half:<8} {spec.task:<11} "
            f"{', '.join(spec.categories):<26} {spec.rows} x "
            f"{spec.features}"
        )


def chosen_datasets(args):
    if args.datasets:
        return args.datasets.split(",")
    return [s.name for s in registry.DATASETS if args.half == "all" or s.half == args.half]


def reused_rows(path, names, models, n_seeds):
    """An earlier run's fits of the chosen datasets and seeds, for the models not run now."""
    if path is None:
        return []
    with open(path) as f:
        earlier = json.load(f)
    return [
        r
        for r in earlier
        if r["dataset"] in names and r["model"] not in models and r["seed"] < n_seeds
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="list the datasets and exit")
    parser.add_argument("--half", choices=[*registry.HALVES, "all"], default="all")
    parser.add_argument("--datasets", default=None, help="comma-separated names (overrides --half)")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated models")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=1, help="time each fit as the fastest of")
    parser.add_argument(
        "--repeat-below",
        type=float,
        default=float("inf"),
        help="repeat only fits shorter than this many seconds",
    )
    parser.add_argument("--pause", type=float, default=0.2, help="idle seconds before each fit")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--glai-params", default="{}", help="JSON of GLAI parameters")
    parser.add_argument("--json", default=None, help="write every fit's row to this file")
    parser.add_argument("--markdown", default=None, help="write the table to this file")
    parser.add_argument(
        "--update-readme", action="store_true", help="write the table into README.rst"
    )
    parser.add_argument(
        "--reuse",
        default=None,
        help="a --json file of an earlier run: its fits of the models not run now are reused",
    )
    args = parser.parse_args(argv)
    if args.list:
        list_datasets()
        return None
    if args.threads:
        torch.set_num_threads(args.threads)
    glai_params = json.loads(args.glai_params)
    models = args.models.split(",")
    unknown = set(models) - set(MODELS)
    if unknown:
        raise SystemExit(f"unknown models {sorted(unknown)}; choose from {MODELS}")
    # Building a torch optimiser imports torch._dynamo once per process; pay it
    # before the first timed fit.
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    rows = reused_rows(args.reuse, chosen_datasets(args), models, args.seeds)
    for name in chosen_datasets(args):
        rows += run_dataset(name, range(args.seeds), models, args, glai_params)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(rows, f, indent=1)
    summary = summarise(rows)
    command = shlex.join(["python", "-m", "benchmarks.suite", *(argv or [])])
    markdown = to_markdown(summary, command)
    print("\n" + markdown)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(markdown)
    if args.update_readme:
        update_readme(markdown)
    return summary


README = Path(__file__).parent.parent / "README.rst"
START, END = ".. benchmark-table-start", ".. benchmark-table-end"


def update_readme(markdown):
    """Replace the README's benchmark table (between its markers) with this run's."""
    text = README.read_text()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    block = "\n".join("    " + line if line else "" for line in markdown.rstrip().splitlines())
    README.write_text(f"{head}{START}\n\n::\n\n{block}\n\n{END}{tail}")


if __name__ == "__main__":
    main(sys.argv[1:])
