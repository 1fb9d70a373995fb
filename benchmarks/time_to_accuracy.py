"""Speed at equal accuracy: how long the torch MLP takes to reach GLAI's test score.

Run from the repository root::

    python -m benchmarks.time_to_accuracy --half holdout
    python -m benchmarks.time_to_accuracy --datasets churn,hr_attrition --seeds 1

The suite's ratio compares fit times, whatever score each fit stops at. Where
the torch MLP stops early at a much lower score, that ratio is not a speed-up
"at equal accuracy". This benchmark measures one: for each dataset and seed
(the suite's splits and models), GLAI at default settings is fitted and
timed as in :mod:`benchmarks.suite`; the torch MLP then trains epoch by epoch
past its own early stop, up to ``2 * stop + 10`` epochs (at most 200), and
after each epoch, with its clock paused, its current weights are scored on
the test rows. The MLP's *time to GLAI's score* is its training time (its
validation checks included, as in its fit) up to the first epoch whose test
score reaches GLAI's. Per-epoch test scores are noisy and the first epoch
that touches GLAI's score counts, which favours the MLP.

The report gives medians over seeds: GLAI's score and time, the torch MLP's
score and time at its early stop, the MLP's time to GLAI's score (``--json``
rows also give its epoch), and that time over GLAI's ("equal-accuracy
ratio"). A seed on which the MLP
never reaches GLAI's score counts as an infinite time; the median is then
shown as ``not reached`` when most seeds never do.
"""

import argparse
import json
import math
import shlex
import statistics
import sys
import time

import torch

from benchmarks import datasets as registry
from benchmarks.compare import fastest_fit
from benchmarks.suite import chosen_datasets, make_model, spec_of, split, test_score

TARGET_RATIO = 1.67
# Fits shorter than this many seconds are timed as the fastest of --repeats,
# as the suite times them (--repeat-below 2).
REPEAT_BELOW = 2.0


def mlp_trajectory(mlp, X_tr, y_tr, X_te, y_te, task, repeats):
    """Per-epoch seconds so far and test scores, the epoch early stopping stops at and its best.

    Training runs to ``2 * stop + 10`` epochs (``max_epochs`` at most). The
    clock stops while the test rows are scored. Each repeat retrains from the
    same seed (the same trajectory) and every epoch keeps its fastest time.
    """
    best_times = None
    for _ in range(repeats):
        times, scores, stop_epoch, best_epoch, elapsed = [], [], None, None, 0.0
        start = time.perf_counter()
        for stop in mlp.train_epochs(X_tr, y_tr):
            elapsed += time.perf_counter() - start
            times.append(elapsed)
            scores.append(test_score(mlp, X_te, y_te, task))
            if stop and stop_epoch is None:
                stop_epoch, best_epoch = mlp.n_epochs_, mlp.best_epoch_
            if stop_epoch is not None and mlp.n_epochs_ >= 2 * stop_epoch + 10:
                break
            start = time.perf_counter()
        if stop_epoch is None:  # ran to max_epochs without stopping
            stop_epoch, best_epoch = mlp.n_epochs_, mlp.best_epoch_
        best_times = times if best_times is None else [min(a, b) for a, b in zip(best_times, times)]
    return best_times, scores, stop_epoch, best_epoch


def first_reaching(scores, target):
    """Index of the first score at or above ``target``, or None."""
    return next((i for i, s in enumerate(scores) if s >= target), None)


def run_seed(name, task, seed, X, y, args):
    X_tr, X_te, y_tr, y_te = split(X, y, task, seed)
    glai_s, glai = fastest_fit(
        make_model("GLAI", task, seed, {}), X_tr, y_tr, args.pause, args.repeats, REPEAT_BELOW
    )
    glai_score = test_score(glai, X_te, y_te, task)
    time.sleep(args.pause)
    mlp = make_model("torch MLP", task, seed, {})
    repeats = args.repeats if glai_s < REPEAT_BELOW else 1
    times, scores, stop, best_epoch = mlp_trajectory(mlp, X_tr, y_tr, X_te, y_te, task, repeats)
    reached = first_reaching(scores, glai_score)
    row = dict(
        dataset=name,
        seed=seed,
        glai_score=glai_score,
        glai_s=glai_s,
        mlp_stop_epoch=stop,
        mlp_stop_s=times[stop - 1],
        # the protocol's fit restores its best validation epoch
        mlp_score_at_stop=scores[best_epoch - 1],
        mlp_epochs_run=len(scores),
        mlp_s_run=times[-1],
        reach_epoch=None if reached is None else reached + 1,
        reach_s=None if reached is None else times[reached],
    )
    reach = "never" if reached is None else f"epoch {reached + 1} ({times[reached]:.2f}s)"
    print(
        f"  {name:<22} seed {seed} GLAI {glai_score:.4f} / {glai_s:.2f}s; MLP stops at epoch "
        f"{stop} ({row['mlp_score_at_stop']:.4f} / {row['mlp_stop_s']:.2f}s); reaches GLAI's "
        f"score: {reach}",
        flush=True,
    )
    return row


def summarise(rows):
    """Per dataset, medians over seeds; an unreached score is an infinite time."""
    by_name = {}
    for row in rows:
        by_name.setdefault(row["dataset"], []).append(row)
    summary = []
    for name, group in by_name.items():
        reach = [math.inf if r["reach_s"] is None else r["reach_s"] for r in group]
        ratios = [t / r["glai_s"] for t, r in zip(reach, group)]
        summary.append(
            dict(
                dataset=name,
                glai_score=statistics.median(r["glai_score"] for r in group),
                glai_s=statistics.median(r["glai_s"] for r in group),
                mlp_score=statistics.median(r["mlp_score_at_stop"] for r in group),
                mlp_s=statistics.median(r["mlp_stop_s"] for r in group),
                fit_ratio=statistics.median(r["mlp_stop_s"] / r["glai_s"] for r in group),
                reached=sum(r["reach_s"] is not None for r in group),
                seeds=len(group),
                reach_s=statistics.median(reach),
                equal_accuracy_ratio=statistics.median(ratios),
            )
        )
    return summary


def _cell(value, fmt):
    return "not reached" if math.isinf(value) else format(value, fmt)


def to_markdown(summary, command):
    lines = [
        f"Command: `{command}` (torch {torch.__version__}, {torch.get_num_threads()} threads). "
        "Medians over seeds. GLAI: test score / fit seconds at default settings. Torch MLP: "
        "score / seconds at its early stop (the suite's protocol). Time to GLAI's score: the "
        "torch MLP's training seconds until an epoch's test score first reaches GLAI's "
        "(reached on how many seeds); not reached counts as infinite. Fit ratio: MLP fit time / "
        "GLAI fit time (the suite's ratio). Equal-accuracy ratio: time to GLAI's score / GLAI "
        "fit time.",
        "",
        "| dataset | half | GLAI | torch MLP at its stop | fit ratio | MLP time to GLAI's score "
        "| equal-accuracy ratio |",
        "| --- | --- | --- | --- | ---: | ---: | ---: |",
    ]
    for e in summary:
        half = spec_of(e["dataset"]).half
        lines.append(
            f"| {e['dataset']} | {half} | {e['glai_score']:.4f} / {e['glai_s']:.2f}s "
            f"| {e['mlp_score']:.4f} / {e['mlp_s']:.2f}s | {e['fit_ratio']:.2f} "
            f"| {_cell(e['reach_s'], '.2f')}{'s' if math.isfinite(e['reach_s']) else ''} "
            f"({e['reached']} of {e['seeds']}) | {_cell(e['equal_accuracy_ratio'], '.2f')} |"
        )
    fast = sum(e["equal_accuracy_ratio"] >= TARGET_RATIO for e in summary)
    fit_fast = sum(e["fit_ratio"] >= TARGET_RATIO for e in summary)
    lines += [
        "",
        f"Equal-accuracy ratio >= {TARGET_RATIO}: {fast} of {len(summary)} "
        f"(fit ratio >= {TARGET_RATIO}: {fit_fast} of {len(summary)}).",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=[*registry.HALVES, "all"], default="all")
    parser.add_argument("--datasets", default=None, help="comma-separated names (overrides --half)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--repeats", type=int, default=3, help="time fits under 2 s as the fastest of"
    )
    parser.add_argument("--pause", type=float, default=0.2, help="idle seconds before each fit")
    parser.add_argument("--json", default=None, help="write every seed's row to this file")
    parser.add_argument("--markdown", default=None, help="write the table to this file")
    args = parser.parse_args(argv)
    # Building a torch optimiser imports torch._dynamo once per process; pay it
    # before the first timed fit.
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    rows = []
    for name in chosen_datasets(args):
        task = spec_of(name).task
        X, y = registry.load(name)
        rows += [run_seed(name, task, seed, X, y, args) for seed in range(args.seeds)]
        if args.json:
            with open(args.json, "w") as f:
                json.dump(rows, f, indent=1)
    command = shlex.join(["python", "-m", "benchmarks.time_to_accuracy", *(argv or [])])
    markdown = to_markdown(summarise(rows), command)
    print("\n" + markdown)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(markdown)
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
