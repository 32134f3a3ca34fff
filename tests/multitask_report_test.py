"""
`benchmarks/multitask_report.py` reports, for a multi-task run, each task's test score at the epoch
that the summed dev metrics select: from AllenNLP's `metrics.json` for a finished run, and by
archiving and evaluating `best.th` for a run stopped early; both must agree for the same weights.
The Table 3 page must be what the script renders from its ledger.
"""
import importlib.util
import json
import shutil

import pytest
from allennlp.commands.train import train_model

from tests.helpers import ROOT
from tests.multitask_configs_test import _params

_spec = importlib.util.spec_from_file_location("multitask_report", ROOT / "benchmarks" / "multitask_report.py")
multitask_report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(multitask_report)

LEDGER = ROOT / "docs" / "runs-multitask.csv"
DOC = ROOT / "docs" / "results-multitask.md"


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "sclstm_fixture"
    params = _params("sclstm_pos_chunk_ner.jsonnet", "pos,chunk,ner", "sc_lstm", "maxent")
    params["trainer"]["num_epochs"] = 2
    train_model(params, str(run))
    return run


def test_a_finished_and_a_stopped_run_report_the_same_scores(finished_run, tmp_path):
    row = multitask_report.run_values(finished_run, evaluate_stopped=False)
    metrics = json.loads((finished_run / "metrics.json").read_text())
    assert row["model"] == "sc_lstm" and row["tasks"] == "pos,chunk,ner" and row["hidden"] == "6"
    assert row["best_epoch"] == str(metrics["best_epoch"] + 1) and row["epochs_run"] == "2"
    assert row["ner_test"] == f"{100 * metrics['test_ner_f1-measure-overall']:.2f}"
    assert row["pos_dev"] == f"{100 * metrics['best_validation_pos_accuracy']:.2f}"

    stopped = tmp_path / "stopped"
    shutil.copytree(finished_run, stopped)
    (stopped / "metrics.json").unlink()
    with pytest.raises(SystemExit, match="--evaluate-stopped"):
        multitask_report.run_values(stopped, evaluate_stopped=False)
    again = multitask_report.run_values(stopped, evaluate_stopped=True)
    assert {k: v for k, v in again.items() if k != "run"} == {k: v for k, v in row.items() if k != "run"}


def test_the_table_averages_seeds_and_states_the_margin(finished_run):
    row = multitask_report.run_values(finished_run, evaluate_stopped=False)
    rows = [dict(row, run="a", seed="1", ner_test="80.00"), dict(row, run="b", seed="2", ner_test="82.00")]
    single = dict(row, run="s", model="single", tasks="ner", seed="1", ner_test="79.50",
                  pos_dev="", pos_test="", chunk_dev="", chunk_test="")
    table = multitask_report.render_table(rows + [single])
    assert "| SC-LSTM | " in table and "**81.00** ± 1.41 |" in table
    assert "| single task |  |  | **79.50** | 1 |" in table
    assert table.strip().splitlines()[-1].startswith("| SC-LSTM − best baseline |  |  | +1.50 |")
    with pytest.raises(ValueError, match="two runs of one seed"):
        multitask_report.table_cells(rows + [dict(row, run="c", seed="1")])


def test_each_setting_gets_its_own_table(finished_run):
    row = multitask_report.run_values(finished_run, evaluate_stopped=False)
    narrow = [dict(row, run="a", seed="1", ner_test="80.00"), dict(row, run="b", seed="2", ner_test="82.00")]
    wide = [dict(row, run="w", seed="1", hidden="300", ner_test="90.00")]
    tables = multitask_report.render_table(narrow + wide).split("\n\n**")
    assert len(tables) == 2
    assert tables[0].startswith("**Hidden 6 per direction, batch ") and "**81.00** ± 1.41 |" in tables[0]
    assert tables[1].startswith("Hidden 300 per direction,") and "| SC-LSTM |" in tables[1]
    assert "**90.00** | 1 |" in tables[1] and "81.00" not in tables[1]
    with pytest.raises(ValueError, match="several settings"):
        multitask_report.table_cells(narrow + wide)


def test_the_results_page_is_what_the_ledger_renders():
    text = DOC.read_text(encoding="utf-8")
    assert multitask_report.BLOCK.search(text), "no generated block"
    assert multitask_report.update_doc(text) == text, "run: python benchmarks/multitask_report.py --update-doc " + str(DOC)
    assert multitask_report.read_ledger(LEDGER)


def test_a_character_cnn_is_its_own_model_with_its_own_margin(finished_run):
    def model(tasks, encoder):
        return multitask_report._model(_params("sclstm_pos_chunk_ner.jsonnet", tasks, encoder, "crf").as_dict())

    assert model("pos,chunk,ner", "sc_lstm_cnn") == "sc_lstm_cnn" and model("ner", "lstm_s_cnn") == "single_cnn"
    assert model("pos,chunk,ner", "lstm_d") == "lstm_d"
    row = multitask_report.run_values(finished_run, evaluate_stopped=False)
    rows = [dict(row, run="a", model="sc_lstm", ner_test="80.00"), dict(row, run="b", model="sc_lstm_cnn", ner_test="83.00"),
            dict(row, run="c", model="lstm_s", ner_test="81.00"), dict(row, run="d", model="lstm_s_cnn", ner_test="82.00")]
    lines = multitask_report.render_table(rows).splitlines()
    assert any(line.startswith("| SC-LSTM-CNN | ") and line.endswith("| 95.83 / 96.41 / 91.37 |") for line in lines)
    assert any(line.startswith("| SC-LSTM − best baseline |") and "| -1.00 |" in line for line in lines)
    assert any(line.startswith("| SC-LSTM-CNN − best baseline |") and "| +1.00 |" in line for line in lines)


def test_appending_with_a_prefix_names_the_row(finished_run, tmp_path):
    ledger = tmp_path / "runs.csv"

    def append(prefix):
        multitask_report.accuracy_report.append_runs(
            ledger, [finished_run], lambda run: multitask_report.run_values(run, False), multitask_report.FIELDS, prefix=prefix)

    append("w300_")
    append("")  # the same directory under another name is another row
    assert [row["run"] for row in multitask_report.read_ledger(ledger)] == ["w300_sclstm_fixture", "sclstm_fixture"]
    with pytest.raises(SystemExit, match="w300_sclstm_fixture is in"):
        append("w300_")


def test_a_grid_continued_to_more_epochs_gets_its_last_table_and_a_line_per_cap(finished_run):
    row = multitask_report.run_values(finished_run, evaluate_stopped=False)
    grid = []
    for cap, ours, theirs in (("8", "80.00", "81.00"), ("12", "84.00", "83.50")):
        grid += [dict(row, run=f"e{cap}_a", epoch_cap=cap, seed="1", ner_test=ours),
                 dict(row, run=f"e{cap}_b", epoch_cap=cap, seed="2", ner_test=ours),
                 dict(row, run=f"e{cap}_s", epoch_cap=cap, model="single", tasks="ner", seed="1", ner_test=theirs,
                      pos_dev="", pos_test="", chunk_dev="", chunk_test=""),
                 dict(row, run=f"e{cap}_l", epoch_cap=cap, model="lstm_s", seed="1", ner_test="82.00")]
    table = multitask_report.render_table(grid)
    full, by_cap = table.split("\n\n**Hidden 6 per direction, batch ")[0], table.split(" heads, by epoch cap (8, 12; ")[1]
    assert full.startswith("**Hidden 6 per direction,") and ", epoch cap 12, " in full.splitlines()[0]
    assert "| single task |  |  | **83.50** | 1 |" in full and "81.00" not in full
    lines = by_cap.splitlines()
    assert "| 8 | best baseline |" in table and any(
        line.startswith("| 8 | best baseline |") and line.endswith("| 82.00 (LSTM-s) |") for line in lines)
    assert any(line.startswith("| 8 | SC-LSTM − best baseline |") and line.endswith("| **-2.00** |") for line in lines)
    assert any(line.startswith("| 12 | best baseline |") and line.endswith("| 83.50 (single task) |") for line in lines)
    assert any(line.startswith("| 12 | SC-LSTM − best baseline |") and line.endswith("| **+0.50** |") for line in lines)
    assert lines.index(next(line for line in lines if line.startswith("| 8 |"))) < lines.index(
        next(line for line in lines if line.startswith("| 12 |")))
