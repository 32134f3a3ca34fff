"""
AllenNLP's own distributed training (torch.distributed, gloo, two CPU workers) for a single-task
and a multi-task config: the run finishes, the metrics are reduced across the workers (the dev
accuracy and span F1 of the best epoch equal a one-process `allennlp evaluate` of the archive on
the same dev file), and the archive loads and predicts.

AllenNLP evaluates on the test set in the primary worker alone, after the others have left, so a
metric that reduces across workers cannot be computed there (allennlp 2.10.1 `train_model` ->
`TrainModel.finish`): a distributed run sets `"evaluate_on_test": false` and is evaluated with
`allennlp evaluate` afterwards.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import CONFIGS, FIXTURES, ROOT
from tests.multitask_configs_test import DATA as MULTITASK_DATA

ALLENNLP = str(Path(sys.executable).parent / "allennlp")
DISTRIBUTED = {"distributed": {"cuda_devices": [-1, -1]}, "evaluate_on_test": False}


def allennlp(*args: str, env: dict) -> None:
    result = subprocess.run([ALLENNLP, *args, "--include-package", "allennlp_ain"], cwd=ROOT, capture_output=True,
                            text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1", **env})
    assert result.returncode == 0, result.stderr[-4000:]


def test_single_task_ner_on_two_workers(tmp_path):
    data = str(FIXTURES / "conll" / "ner_sample.txt")
    env = {"TRAIN_DATA": data, "DEV_DATA": data, "TEST_DATA": data, "ENCODER": "bilstm", "DECODER": "crf",
           "GLOVE": str(FIXTURES / "embeddings" / "glove_sample.txt"), "CUDA_DEVICE": "-1"}
    overrides = {**DISTRIBUTED, "model.encoder.hidden_size": 16, "trainer.num_epochs": 12,
                 "trainer.optimizer.type": "adam", "trainer.optimizer.lr": 0.02,
                 "data_loader.batch_sampler.batch_size": 2, "dataset_reader.tag_scheme": "BIO"}
    run = tmp_path / "run"
    allennlp("train", str(CONFIGS / "conll03_ner.jsonnet"), "-s", str(run), "-o", json.dumps(overrides), env=env)
    metrics = json.loads((run / "metrics.json").read_text())
    allennlp("evaluate", str(run / "model.tar.gz"), data, "--output-file", str(tmp_path / "dev.json"), env=env)
    evaluation = json.loads((tmp_path / "dev.json").read_text())
    assert evaluation["f1-measure-overall"] > 0.2  # learnt something, so the F1 comparison means something
    for name in ("accuracy", "precision-overall", "recall-overall", "f1-measure-overall"):
        assert metrics[f"best_validation_{name}"] == pytest.approx(evaluation[name], abs=1e-9), name

    sentences = tmp_path / "in.jsonl"
    sentences.write_text('{"sentence": "Peter Blackburn visited Brussels ."}\n')
    allennlp("predict", str(run / "model.tar.gz"), str(sentences), "--output-file", str(tmp_path / "out.jsonl"), "--silent", env=env)
    assert len(json.loads((tmp_path / "out.jsonl").read_text())["tags"]) == 5


def test_multitask_on_two_workers(tmp_path):
    env = {key: str(path) for key, path in MULTITASK_DATA["sclstm_pos_chunk_ner.jsonnet"].items()}
    env.update(TASKS="pos,ner", ENCODER="sc_lstm", DECODER="crf", GLOVE=str(FIXTURES / "embeddings" / "glove_sample.txt"),
               CUDA_DEVICE="-1")
    # a batch trains one task, so the other heads get no gradient: DDP must look for unused parameters
    overrides = {**DISTRIBUTED, "trainer.ddp_accelerator": {"type": "torch", "find_unused_parameters": True},
                 "model.encoder.hidden_size": 8, "trainer.num_epochs": 3, "data_loader.scheduler.batch_size": 2}
    run = tmp_path / "run"
    allennlp("train", str(CONFIGS / "multitask" / "sclstm_pos_chunk_ner.jsonnet"), "-s", str(run), "-o", json.dumps(overrides), env=env)
    metrics = json.loads((run / "metrics.json").read_text())
    dev = {"pos": env["POS_DEV"], "ner": env["NER_DEV"]}
    allennlp("evaluate", str(run / "model.tar.gz"), json.dumps(dev), "--output-file", str(tmp_path / "dev.json"), env=env)
    evaluation = json.loads((tmp_path / "dev.json").read_text())
    for name in ("pos_accuracy", "ner_accuracy", "ner_f1-measure-overall"):
        assert metrics[f"best_validation_{name}"] == pytest.approx(evaluation[name], abs=1e-9), name
