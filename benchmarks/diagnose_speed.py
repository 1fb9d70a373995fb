"""Why GLAI is, or is not, 1.67 times faster than the torch MLP on a dataset.

Run from the repository root::

    python -m benchmarks.diagnose_speed --half confirm
    python -m benchmarks.diagnose_speed --datasets digits_effnet,loans_purpose

On the suite's 80/20 splits (median of ``--seeds``), each fit timed as the
fastest of ``--repeats``, it prices GLAI's fit in epochs of the torch MLP it
replaces:

- ``MLP epochs``: how many epochs the torch MLP ran; with patience 5, that
  is its best epoch plus five;
- ``GLAI in MLP epochs``: GLAI's fit time over the MLP's time per epoch;
- ``warm-up + convex``: GLAI's warm-up epochs and convex iterations, and
  the seconds each phase took;
- ``ratio``: MLP time / GLAI time, that is ``MLP epochs`` over ``GLAI in
  MLP epochs``;
- ``faster``: GLAI with a setting that makes a fit cheaper (``--faster``,
  default a warm-up net a quarter as wide as the replaced MLP, where the
  default's is half as wide): its gap to the MLP in points and its ratio.

A ratio of 1.67 needs GLAI to cost at most 60% of the epochs the MLP runs.
"""

import argparse
import json
import statistics
import sys

import torch

from benchmarks import datasets as registry
from benchmarks.compare import fastest_fit
from benchmarks.suite import make_model, split, test_score

FASTER = '{"reduction_factor": 4}'


def measure(name, seed, repeats, faster):
    """One seed's figures for one dataset, as a dict."""
    task = registry.spec(name).task
    X, y = registry.load(name)
    X_tr, X_te, y_tr, y_te = split(X, y, task, seed)

    def fit(label, params=None):
        model = make_model(label, task, seed, params or {})
        seconds, model = fastest_fit(model, X_tr, y_tr, 0.0, repeats, repeat_below=2.0)
        return seconds, model, test_score(model, X_te, y_te, task)

    mlp_s, mlp, mlp_score = fit("torch MLP")
    glai_s, glai, glai_score = fit("GLAI")
    faster_s, _, faster_score = fit("GLAI", faster)
    epoch_s = mlp_s / mlp.n_epochs_
    return dict(
        mlp_epochs=mlp.n_epochs_,
        mlp_s=mlp_s,
        glai_s=glai_s,
        glai_in_mlp_epochs=glai_s / epoch_s,
        warm_up_epochs=glai.n_structure_epochs_,
        convex_iterations=glai.n_iter_,
        warm_up_s=glai.fit_times_["structure"],
        convex_s=glai.fit_times_["quantities"],
        gap=100 * (glai_score - mlp_score),
        ratio=mlp_s / glai_s,
        faster_gap=100 * (faster_score - mlp_score),
        faster_ratio=mlp_s / faster_s,
    )


def diagnose(name, seeds, repeats, faster):
    """Medians over seeds of :func:`measure`."""
    runs = [measure(name, seed, repeats, faster) for seed in seeds]
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


HEADER = (
    "| dataset | MLP epochs | MLP s | GLAI s | GLAI in MLP epochs | warm-up + convex "
    "| warm-up s | convex s | gap | ratio | faster gap | faster ratio |"
)


def to_row(name, m):
    return (
        f"| {name} | {m['mlp_epochs']:.0f} | {m['mlp_s']:.2f} | {m['glai_s']:.2f} "
        f"| {m['glai_in_mlp_epochs']:.1f} "
        f"| {m['warm_up_epochs']:.0f} + {m['convex_iterations']:.0f} "
        f"| {m['warm_up_s']:.2f} | {m['convex_s']:.2f} | {m['gap']:+.2f} | {m['ratio']:.2f} "
        f"| {m['faster_gap']:+.2f} | {m['faster_ratio']:.2f} |"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    choice = parser.add_mutually_exclusive_group(required=True)
    choice.add_argument("--datasets", help="comma-separated names")
    choice.add_argument("--half", choices=[*registry.HALVES, "all"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--faster", default=FASTER, help="JSON of GLAI parameters to compare")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    # Building a torch optimiser imports torch._dynamo once per process; pay
    # it here so that no timed fit includes it.
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    names = args.datasets.split(",") if args.datasets else registry.names(args.half)
    lines = [HEADER, "| --- |" + " ---: |" * 11]
    results = {}
    for name in names:
        results[name] = diagnose(name, range(args.seeds), args.repeats, json.loads(args.faster))
        lines.append(to_row(name, results[name]))
        print(lines[-1], flush=True)
    print("\n".join(lines))
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
