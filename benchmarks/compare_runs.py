"""GLAI's gap and speed ratio in two runs of the suite, dataset by dataset.

Run from the repository root::

    python -m benchmarks.compare_runs doc/benchmarks/suite_tuning.json \\
        doc/benchmarks/suite_tuning_r3.json

Each argument pair is ``BEFORE AFTER``: the ``--json`` files of two
:mod:`benchmarks.suite` runs of the same datasets (several pairs may follow
one another). Each run is summarised as the suite summarises it (medians
over seeds), so each ratio is the one its run reports (a run made with
``--reuse`` compares with MLP fits of the run it reused).
"""

import argparse
import json
import statistics
import sys

from benchmarks.suite import summarise

HEADER = (
    "| dataset | gap before | gap after | ratio before | ratio after "
    "| warm-up epochs before | after |"
)


def load_summary(path):
    with open(path) as f:
        return {entry["dataset"]: entry for entry in summarise(json.load(f))}


def compare(before, after):
    """Rows ``(name, gap_before, gap_after, ratio_before, ratio_after, epochs_b, epochs_a)``."""
    rows = []
    for name, old in before.items():
        new = after.get(name)
        if new is None:
            continue
        rows.append(
            (
                name,
                old["gap_points"],
                new["gap_points"],
                old["time_ratio"],
                new["time_ratio"],
                old["GLAI"]["structure_epochs"],
                new["GLAI"]["structure_epochs"],
            )
        )
    return rows


def to_markdown(rows):
    lines = [HEADER, "| --- |" + " ---: |" * 6]
    for name, gap_b, gap_a, ratio_b, ratio_a, ep_b, ep_a in rows:
        lines.append(
            f"| {name} | {gap_b:+.2f} | {gap_a:+.2f} | {ratio_b:.2f} | {ratio_a:.2f} "
            f"| {ep_b:.0f} | {ep_a:.0f} |"
        )
    for label, index in (("before", 1), ("after", 2)):
        held = [row[index] >= -0.5 for row in rows]
        ratios = [row[index + 2] for row in rows]
        fast = [r >= 1.67 for r in ratios]
        lines.append(
            f"\n{label.capitalize()}: within 0.5 points of the torch MLP on {sum(held)} of "
            f"{len(rows)}; ratio 1.67 or more on {sum(fast)}, median "
            f"{statistics.median(ratios):.2f}; both on {sum(map(all, zip(held, fast)))}; "
            f"mean gap {statistics.mean(row[index] for row in rows):+.2f} points."
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="BEFORE AFTER [BEFORE AFTER ...] json files")
    args = parser.parse_args(argv)
    if len(args.runs) % 2:
        parser.error("give the runs in BEFORE AFTER pairs")
    rows = []
    for before, after in zip(args.runs[::2], args.runs[1::2]):
        rows += compare(load_summary(before), load_summary(after))
    markdown = to_markdown(rows)
    print(markdown)
    return rows, markdown


if __name__ == "__main__":
    main(sys.argv[1:])
