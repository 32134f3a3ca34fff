"""The real command line: `allennlp train`, `evaluate` and `predict`, as a user runs them."""
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import FIXTURES, ROOT

ALLENNLP = str(Path(sys.executable).parent / "allennlp")


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "FIXTURES": str(FIXTURES), "DECODER": "crf"}
    result = subprocess.run([ALLENNLP, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_train_evaluate_predict_through_the_command_line(tmp_path):
    config = str(FIXTURES / "configs" / "ain_tagger.jsonnet")
    data = str(FIXTURES / "ud" / "en_ewt_sample.conllu")
    # from the repository root, .allennlp_plugins finds the plugin without --include-package
    run("train", config, "-s", str(tmp_path / "run"), cwd=ROOT)
    archive = tmp_path / "run" / "model.tar.gz"
    assert archive.exists()
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert 0.0 <= metrics["best_validation_accuracy"] <= 1.0

    # elsewhere, --include-package does it
    run("evaluate", str(archive), data, "--output-file", str(tmp_path / "eval.json"), "--include-package", "allennlp_ain", cwd=tmp_path)
    evaluation = json.loads((tmp_path / "eval.json").read_text())
    assert evaluation["accuracy"] == metrics["best_validation_accuracy"]  # same data, same best model

    sentences = tmp_path / "in.jsonl"
    sentences.write_text('{"sentence": "The cat sat on the mat."}\n{"tokens": ["Hello", "world"]}\n')
    run("predict", str(archive), str(sentences), "--output-file", str(tmp_path / "out.jsonl"),
        "--include-package", "allennlp_ain", "--silent", "--batch-size", "2", cwd=tmp_path)
    outputs = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [o["tokens"] for o in outputs] == [["The", "cat", "sat", "on", "the", "mat", "."], ["Hello", "world"]]
    assert [len(o["tags"]) for o in outputs] == [7, 2]


def test_a_multitask_model_through_the_command_line(tmp_path):
    config = str(FIXTURES / "configs" / "multitask.jsonnet")
    env_run = {"FIXTURES": str(FIXTURES), "ENCODER": "sc_lstm"}
    result = subprocess.run(
        [ALLENNLP, "train", config, "-s", str(tmp_path / "run")],
        cwd=ROOT, env={**os.environ, **env_run}, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    archive = tmp_path / "run" / "model.tar.gz"
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    # evaluate: a JSON object of task -> file, every task reported
    data = {"pos": str(FIXTURES / "ud" / "en_ewt_sample.conllu"), "ner": str(FIXTURES / "conll" / "ner_sample.txt")}
    run("evaluate", str(archive), json.dumps(data), "--output-file", str(tmp_path / "eval.json"),
        "--include-package", "allennlp_ain", cwd=tmp_path)
    evaluation = json.loads((tmp_path / "eval.json").read_text())
    assert evaluation["pos_accuracy"] == metrics["best_validation_pos_accuracy"]
    assert evaluation["ner_f1-measure-overall"] == metrics["best_validation_ner_f1-measure-overall"]
    # predict: every task for every line, in the input's order
    sentences = tmp_path / "in.jsonl"
    sentences.write_text('{"sentence": "Maria Lopez flew to Berlin."}\n{"tokens": ["Anna", "ran"]}\n{"tokens": ["Rain"]}\n')
    run("predict", str(archive), str(sentences), "--output-file", str(tmp_path / "out.jsonl"),
        "--include-package", "allennlp_ain", "--silent", "--batch-size", "2", cwd=tmp_path)
    outputs = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [o["tokens"] for o in outputs] == [["Maria", "Lopez", "flew", "to", "Berlin", "."], ["Anna", "ran"], ["Rain"]]
    assert all(len(o["pos"]["tags"]) == len(o["ner"]["tags"]) == len(o["tokens"]) for o in outputs)
