"""
`benchmarks/low_resource_report.py` reads what a multilingual run was (target, sample size,
ablation, seed) from its config, not its name, and reports the target's test F1 at the epoch its
dev F1 selects: from AllenNLP's `metrics.json` for a finished run, and by archiving and evaluating
`best.th` for a run stopped early; both must agree. The results page is what the ledger renders.
"""
import importlib.util
import json
import shutil

import pytest
from allennlp.commands.train import train_model

import allennlp_ain  # noqa: F401  (registers the readers and model)

from tests.helpers import ROOT, multilingual_params

_spec = importlib.util.spec_from_file_location("low_resource_report", ROOT / "benchmarks" / "low_resource_report.py")
low_resource_report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(low_resource_report)

LEDGER = ROOT / "docs" / "runs-low-resource.csv"
DOC = ROOT / "docs" / "results-low-resource.md"


@pytest.fixture(scope="module")
def single_run(tmp_path_factory):
    """The Spanish config's single-task ablation on 2 sampled fixture sentences, 2 epochs, seed 1."""
    run = tmp_path_factory.mktemp("runs") / "any_name"
    params = multilingual_params("spanish_ner.jsonnet", "single", sample="2")
    params["trainer"]["num_epochs"] = 2
    train_model(params, str(run))
    return run


def test_a_run_is_described_by_its_config_and_scored_on_its_best_dev_epoch(single_run, tmp_path):
    row = low_resource_report.run_values(single_run, evaluate_stopped=False)
    metrics = json.loads((single_run / "metrics.json").read_text())
    assert row["target"] == "es_ner" and row["size"] == "2" and row["ablation"] == "single"
    assert row["datasets"] == "es_ner" and row["seed"] == "1" and row["decoder"] == "crf" and row["encoder"] == "lstm_s"
    assert row["epochs_run"] == "2" and row["epoch_cap"] == "2" and row["best_epoch"] == str(metrics["best_epoch"] + 1)
    assert row["test"] == f"{100 * metrics['test_ner_f1-measure-overall']:.2f}"
    assert row["dev"] == f"{100 * metrics['best_validation_ner_f1-measure-overall']:.2f}"

    stopped = tmp_path / "stopped"
    shutil.copytree(single_run, stopped)
    (stopped / "metrics.json").unlink()
    with pytest.raises(SystemExit, match="--evaluate-stopped"):
        low_resource_report.run_values(stopped, evaluate_stopped=False)
    again = low_resource_report.run_values(stopped, evaluate_stopped=True)
    assert {k: v for k, v in again.items() if k != "run"} == {k: v for k, v in row.items() if k != "run"}


def test_the_full_model_is_the_all_ablation(multilingual_archive):
    row = low_resource_report.run_values(multilingual_archive.parent, evaluate_stopped=False)
    assert row["target"] == "nl_ner" and row["size"] == "all" and row["ablation"] == "all"
    assert row["datasets"] == "en_ner+en_pos+nl_ner+nl_pos"


@pytest.mark.parametrize(
    "others, ablation",
    [
        ({}, "single"),
        ({"en_ner": ("en", "ner")}, "cross_lingual"),
        ({"nl_pos": ("nl", "pos")}, "cross_task"),
        ({"en_ner": ("en", "ner"), "nl_pos": ("nl", "pos")}, "all"),
        ({"en_pos": ("en", "pos")}, "all"),
    ],
)
def test_the_ablation_follows_from_languages_and_tasks(others, ablation):
    datasets = {"nl_ner": {"language": "nl", "task": "ner", "sample": 200}}
    datasets.update({name: {"language": l, "task": t, "sample": None} for name, (l, t) in others.items()})
    assert low_resource_report.ablation_of(datasets, "nl_ner") == ablation


def _row(size, ablation, seed, test):
    return {"run": f"r_{size}_{ablation}_{seed}", "target": "nl_ner", "size": size, "ablation": ablation,
            "datasets": "", "encoder": "lstm_s", "decoder": "crf", "seed": seed, "epochs_run": "150",
            "epoch_cap": "150", "best_epoch": "100", "dev": "1.00", "test": test}


def test_the_table_averages_seeds_and_gives_the_gain_per_seed(tmp_path):
    rows = [_row("200", "single", "1", "20.00"), _row("200", "single", "2", "22.00"),
            _row("200", "all", "1", "35.50"), _row("200", "all", "2", "30.00"), _row("all", "single", "1", "70.00"),
            _row("100", "cross_task", "1", "15.00")]
    table = low_resource_report.render_table(rows)
    lines = table.splitlines()
    body = [line for line in lines if line.startswith("| 100 ") or line.startswith("| 200 ") or line.startswith("| all ")]
    assert [line.split(" | ")[0] for line in body] == ["| 100", "| 200", "| all"]  # sizes in numeric order, all last
    assert body[1] == "| 200 | **21.00** ± 1.41 |  |  | **32.75** ± 3.89 | 1, 2 | +15.50 (seed 1), +8.00 (seed 2) |"
    assert body[0] == "| 100 |  |  | **15.00** |  | 1 |  |"
    with pytest.raises(ValueError, match="two runs of seed 1"):
        low_resource_report.cells(rows + [_row("200", "all", "1", "1.00")])
    low_resource_report.plot(rows, tmp_path / "plot.png", {"nl_ner": 15806})
    assert (tmp_path / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_results_page_is_what_the_ledger_renders():
    text = DOC.read_text(encoding="utf-8")
    assert low_resource_report.BLOCK.search(text), "no generated block"
    assert low_resource_report.update_doc(text) == text, "run: python benchmarks/low_resource_report.py --update-doc " + str(DOC)
    assert low_resource_report.read_ledger(LEDGER)
