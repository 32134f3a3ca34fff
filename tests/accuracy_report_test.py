"""
`benchmarks/accuracy_report.py` reports the test score of the epoch dev selects, for a finished run
(from AllenNLP's `metrics.json`) and for a run stopped early (by archiving and evaluating its
`best.th`): both paths must give the same number for the same weights.
"""
import importlib.util
import json
import shutil
from pathlib import Path

from allennlp.commands.train import train_model
from allennlp.common import Params

from tests.training_configs_test import CONFIGS, _ext_vars

_SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "accuracy_report.py"
_spec = importlib.util.spec_from_file_location("accuracy_report", _SCRIPT)
accuracy_report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(accuracy_report)


def _cells(row: str):
    return [cell.strip() for cell in row.strip("|").split("|")]


def _train_atis(run: Path, decoder: str, epochs: int) -> None:
    """Train a word-only ATIS run of `epochs` epochs into `run` with the shipped config."""
    params = Params.from_file(
        str(CONFIGS / "atis.jsonnet"),
        params_overrides=json.dumps({"trainer.num_epochs": epochs}),
        ext_vars=_ext_vars("atis.jsonnet", "word", decoder),
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


_CONTINUE = Path(__file__).resolve().parents[1] / "benchmarks" / "continue_run.py"
_spec = importlib.util.spec_from_file_location("continue_run", _CONTINUE)
continue_run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(continue_run)


def test_a_finished_run_continues_to_more_epochs_and_reports_them(tmp_path):
    first = tmp_path / "first"
    _train_atis(first, "crf", 1)
    before = (first / "metrics.json").read_text()

    continued = tmp_path / "continued"
    continue_run.continue_run(first, continued, 2)
    assert (first / "metrics.json").read_text() == before  # the original run is untouched
    metrics = json.loads((continued / "metrics.json").read_text())
    assert metrics["epoch"] == 1 and (continued / "metrics_epoch_1.json").is_file()
    # epoch 0 was not trained again: its metrics are the first run's
    assert (continued / "metrics_epoch_0.json").read_text() == (first / "metrics_epoch_0.json").read_text()
    assert _cells(accuracy_report.report(continued, evaluate_stopped=False))[1] == "2 (2)"
    assert not (tmp_path / "continued.params.json").exists()
