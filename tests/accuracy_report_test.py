"""
`benchmarks/accuracy_report.py` reports the test score of the epoch dev selects, for a finished run
(from AllenNLP's `metrics.json`) and for a run stopped early (by archiving and evaluating its
`best.th`): both paths must give the same number for the same weights. It also keeps the run
ledger `docs/runs.csv` and renders the tables of `docs/results-accuracy.md` from it; the page must
be what the script renders from the ledger.
"""
import csv
import importlib.util
import json
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from allennlp.commands.train import train_model
from allennlp.common import Params

import allennlp_ain  # noqa: F401  (registers the components the configs name)
from tests.helpers import CONFIGS, FIXTURES, ROOT

_SCRIPT = ROOT / "benchmarks" / "accuracy_report.py"
_spec = importlib.util.spec_from_file_location("accuracy_report", _SCRIPT)
accuracy_report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(accuracy_report)

LEDGER = ROOT / "docs" / "runs.csv"
DOC = ROOT / "docs" / "results-accuracy.md"


def _ext_vars(encoder: str, decoder: str) -> dict:
    """The ATIS config on the fixtures: the sample for train and dev, a file with unseen labels for test."""
    return {
        "TRAIN_DATA": str(FIXTURES / "atis" / "atis_sample.txt"),
        "DEV_DATA": str(FIXTURES / "atis" / "atis_sample.txt"),
        "TEST_DATA": str(FIXTURES / "atis" / "atis_unseen_label.txt"),
        "ENCODER": encoder,
        "DECODER": decoder,
        "GLOVE": str(FIXTURES / "embeddings" / "glove_sample.txt"),
        "CUDA_DEVICE": "-1",
    }


def _cells(row: str):
    return [cell.strip() for cell in row.strip("|").split("|")]


def _train_atis(run: Path, decoder: str, epochs: int) -> None:
    """Train a word-only ATIS run of `epochs` epochs into `run` with the shipped config."""
    params = Params.from_file(
        str(CONFIGS / "atis.jsonnet"),
        params_overrides=json.dumps({"trainer.num_epochs": epochs}),
        ext_vars=_ext_vars("word", decoder),
    )
    train_model(params, str(run))


def test_finished_and_stopped_runs_report_the_same_test_score(tmp_path):
    finished = tmp_path / "finished"
    _train_atis(finished, "crf", 3)
    metrics = json.loads((finished / "metrics.json").read_text())

    name, epochs, best_epoch, dev, test = _cells(accuracy_report.report(finished, evaluate_stopped=False))
    assert (name, epochs, best_epoch) == ("finished", "3 (3)", str(metrics["best_epoch"] + 1))
    assert dev == f"{100 * metrics['best_validation_f1-measure-overall']:.2f}"
    assert test == f"**{100 * metrics['test_f1-measure-overall']:.2f}**"

    # appended to a ledger, the run gets the same numbers, and the paper's score of its cell
    ledger = tmp_path / "runs.csv"
    shutil.copy(LEDGER, ledger)
    row = accuracy_report.append(ledger, finished, "atis.jsonnet")
    assert accuracy_report.read_ledger(ledger)[-1] == row
    assert row == {
        "run": "finished", "encoder": "word", "dataset": "ATIS slot filling", "decoder": "crf",
        "config": "atis.jsonnet", "variant": "", "seed": "default", "continued_from": "",
        "epochs_run": "3", "epoch_cap": "3", "best_epoch": best_epoch, "dev": dev, "test": test.strip("*"),
        "paper_test": "76.82",
    }
    with pytest.raises(SystemExit):
        accuracy_report.append(ledger, finished, "atis.jsonnet")  # a run enters once

    # the same run as if it had been stopped after its last epoch: no metrics.json, no archive
    stopped = tmp_path / "stopped"
    shutil.copytree(finished, stopped)
    (stopped / "metrics.json").unlink()
    (stopped / "model.tar.gz").unlink()
    assert _cells(accuracy_report.report(stopped, evaluate_stopped=False))[1:] == ["3 (3), stopped", best_epoch, dev, "n/a"]
    assert _cells(accuracy_report.report(stopped, evaluate_stopped=True))[1:] == ["3 (3), stopped", best_epoch, dev, test]
    assert (stopped / "model_best.tar.gz").is_file()


def test_a_stale_metrics_json_from_a_continued_run_is_ignored(tmp_path):
    run = tmp_path / "continued"
    _train_atis(run, "maxent", 2)
    assert _cells(accuracy_report.report(run, evaluate_stopped=False))[1] == "2 (2)"
    # continued with --recover and stopped during a later epoch: metrics.json is the old run's
    last = json.loads((run / "metrics_epoch_1.json").read_text())
    last["epoch"] = 2
    last["validation_f1-measure-overall"] = 0.0
    (run / "metrics_epoch_2.json").write_text(json.dumps(last))
    assert _cells(accuracy_report.report(run, evaluate_stopped=False))[1] == "3 (2), stopped"


_CONTINUE = ROOT / "benchmarks" / "continue_run.py"
_spec = importlib.util.spec_from_file_location("continue_run", _CONTINUE)
continue_run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(continue_run)


def test_a_finished_run_continues_to_more_epochs_and_reports_them(tmp_path):
    first = tmp_path / "first"
    _train_atis(first, "crf", 1)
    before = (first / "metrics.json").read_text()
    # as a run from before the shipped configs named `ain_atomic`
    config = json.loads((first / "config.json").read_text())
    del config["trainer"]["checkpointer"]
    (first / "config.json").write_text(json.dumps(config))

    continued = tmp_path / "continued"
    continue_run.continue_run(first, continued, 2)
    assert json.loads((continued / "config.json").read_text())["trainer"]["checkpointer"] == {"type": "ain_atomic"}
    assert (first / "metrics.json").read_text() == before  # the original run is untouched
    metrics = json.loads((continued / "metrics.json").read_text())
    assert metrics["epoch"] == 1 and (continued / "metrics_epoch_1.json").is_file()
    # epoch 0 was not trained again: its metrics are the first run's
    assert (continued / "metrics_epoch_0.json").read_text() == (first / "metrics_epoch_0.json").read_text()
    assert _cells(accuracy_report.report(continued, evaluate_stopped=False))[1] == "2 (2)"
    assert not (tmp_path / "continued.params.json").exists()


# ---------------------------------------------------------------- the ledger and the page


def _row(run, encoder="bilstm", dataset="X", decoder="crf", variant="", seed="default", continued_from="",
         epochs_run="", epoch_cap="60", best_epoch="", dev="90.00", test="90.00", paper_test="91.20"):
    return {"run": run, "encoder": encoder, "dataset": dataset, "decoder": decoder, "config": "x.jsonnet",
            "variant": variant, "seed": seed, "continued_from": continued_from, "epochs_run": epochs_run or epoch_cap,
            "epoch_cap": epoch_cap, "best_epoch": best_epoch or epoch_cap, "dev": dev, "test": test,
            "paper_test": paper_test}


TINY = [
    _row("a", epoch_cap="20", dev="94.00", test="90.00"),
    _row("a_e60", continued_from="a", dev="95.00", test="91.00"),
    _row("a_s1", seed="1", dev="95.10", test="91.50"),
    _row("a_s2", seed="2", dev="95.30", test="92.00"),
    _row("a_s3", seed="3", epoch_cap="20", dev="99.00", test="99.00"),  # a smaller cap: out
    _row("a_vd", variant="vd", epoch_cap="90", dev="99.00", test="99.00"),  # a variant: out
    _row("b", encoder="word", decoder="mfvi1", dev="80.00", test="80.00", paper_test="81.00"),
    _row("b_s1", encoder="word", decoder="mfvi1", seed="1", dev="80.01", test="80.01", paper_test="81.00"),
    _row("c_cd", decoder="maxent", variant="cd"),  # no shipped-config run: no result
]


def test_a_cell_is_the_mean_over_the_seeds_of_the_shipped_config_at_its_largest_cap():
    results = accuracy_report.aggregate(TINY)
    assert [(r["encoder"], r["decoder"]) for r in results] == [("bilstm", "crf"), ("word", "mfvi1")]
    a, b = results
    # (91.00 + 91.50 + 92.00) / 3 = 91.50; deviations -0.5, 0, 0.5: sd = sqrt(0.5 / 2) = 0.50
    # dev (95.00 + 95.10 + 95.30) / 3 = 95.1333...; 91.50 - 91.20 = +0.30
    assert (a["runs"], a["seeds"], a["epoch_cap"]) == (["a_e60", "a_s1", "a_s2"], 3, 60)
    assert (a["test"], a["sd"], a["dev"], a["delta"]) == (Decimal("91.50"), Decimal("0.50"), Decimal("95.13"), Decimal("0.30"))
    # (80.00 + 80.01) / 2 = 80.005, rounded half up to 80.01; sd = 0.01 / sqrt(2) = 0.0071; 80.01 - 81.00
    assert (b["test"], b["sd"], b["dev"], b["delta"]) == (Decimal("80.01"), Decimal("0.01"), Decimal("80.01"), Decimal("-0.99"))
    tables = accuracy_report.render_tables(TINY)
    assert "| X | CRF | **91.50** ± 0.50 | 3 | 95.13 | 60 | 91.20 | +0.30 | `a_e60`, `a_s1`, `a_s2` |" in tables
    assert "| X | AIN-1O | **80.01** ± 0.01 | 2 | 80.01 | 60 | 81.00 | -0.99 | `b`, `b_s1` |" in tables


def test_a_single_run_has_no_spread_and_a_missing_paper_score_no_delta():
    (result,) = accuracy_report.aggregate([_row("c", dev="88.76", test="83.11", paper_test="")])
    assert (result["test"], result["sd"], result["seeds"], result["paper"], result["delta"]) == (Decimal("83.11"), None, 1, None, None)
    assert "| X | CRF | **83.11** | 1 | 88.76 | 60 |  |  | `c` |" in accuracy_report.render_tables([_row("c", dev="88.76", test="83.11", paper_test="")])


def test_a_seed_twice_at_the_cap_or_two_paper_scores_are_errors():
    with pytest.raises(ValueError, match="one seed"):
        accuracy_report.aggregate([_row("a"), _row("a_again")])
    with pytest.raises(ValueError, match="paper"):
        accuracy_report.aggregate([_row("a"), _row("a_s1", seed="1", paper_test="91.30")])


def test_the_ledger_is_consistent():
    rows = accuracy_report.read_ledger(LEDGER)
    runs = {row["run"]: row for row in rows}
    assert len(runs) == len(rows)
    for row in rows:
        assert row["decoder"] in accuracy_report.DECODERS and row["encoder"] in accuracy_report.ENCODERS
        assert (CONFIGS / row["config"]).is_file()
        seed = re.search(r"_s(\d+)(?=_|$)", row["run"])
        assert row["seed"] == (seed.group(1) if seed else "default"), row["run"]
        continued = re.fullmatch(r"(.+)_e(\d+)", row["run"])
        if continued:
            assert int(continued.group(2)) == int(row["epoch_cap"]), row["run"]
            source = runs[row["continued_from"]]
            same = ("encoder", "dataset", "decoder", "config", "variant", "seed")
            assert [source[k] for k in same] == [row[k] for k in same], row["run"]
            assert int(source["epoch_cap"]) < int(row["epoch_cap"]), row["run"]
        else:
            assert row["continued_from"] == "", row["run"]
        if row["epochs_run"]:
            assert int(row["best_epoch"]) <= int(row["epochs_run"]) <= int(row["epoch_cap"]), row["run"]


def test_the_generated_sections_of_the_results_page_are_what_the_ledger_renders():
    text = DOC.read_text(encoding="utf-8")
    blocks = accuracy_report.generated_blocks(text)
    assert [args for args, _ in blocks] == ["--ledger docs/runs.csv --tables", "--ledger docs/runs.csv --runs"]
    for args, body in blocks:
        assert body == accuracy_report.render_block(args), (
            f"docs/results-accuracy.md is out of date for `{args}`: run "
            "`.venv/bin/python benchmarks/accuracy_report.py --update-doc docs/results-accuracy.md`"
        )
    assert accuracy_report.update_doc(text) == text
    # every run of the ledger is on the page
    with open(LEDGER, newline="", encoding="utf-8") as file:
        assert all(f"`{row['run']}`" in blocks[1][1] for row in csv.DictReader(file))


_BASH = re.compile(r"^\s*```bash\n(.*?)^\s*```", re.MULTILINE | re.DOTALL)


def _documented_train_commands():
    for block in _BASH.findall(DOC.read_text(encoding="utf-8")):
        for command in re.sub(r"\\\n\s*", " ", block).splitlines():
            if "allennlp train training_configs/" in command:
                yield command


def _lookup(tree: dict, dotted: str):
    for key in dotted.split("."):
        tree = tree[key]
    return tree


@pytest.mark.parametrize("command", list(_documented_train_commands()))
def test_the_documented_training_overrides_are_dotted_and_reach_the_config(command):
    config = re.search(r"training_configs/(\S+\.jsonnet)", command).group(1)
    env = dict(re.findall(r"\b(ENCODER|DECODER)=(\w+)", command))
    overrides = json.loads(re.search(r"--overrides '([^']*)'", command).group(1))
    # a nested {"trainer": {...}} would replace the whole block: only dotted keys, or top-level scalars (seeds)
    assert all("." in key or not isinstance(value, dict) for key, value in overrides.items()), overrides

    def build(overrides):
        return Params.from_file(str(CONFIGS / config), params_overrides=json.dumps(overrides),
                                ext_vars=_ext_vars(env["ENCODER"], env["DECODER"])).as_dict()

    base, built = build({}), build(overrides)
    for key, value in overrides.items():
        assert _lookup(built, key) == value, key
        if "." in key:
            assert isinstance(_lookup(base, key.rpartition(".")[0]), dict), key  # the parent block exists
    assert built["trainer"]["optimizer"] == base["trainer"]["optimizer"]
