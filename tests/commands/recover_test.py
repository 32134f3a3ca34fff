"""
A run killed mid-training (SIGKILL, or SIGINT as from Ctrl-C) and resumed with
`allennlp train ... --recover` finishes with the metrics of the uninterrupted run of the same seed,
for a single-task and a multi-task config: the checkpoint holds the weights, the optimizer, the
learning-rate scheduler and the Python, numpy and torch random states (`ain_rng_state`), and
AllenNLP's replay of the finished epochs puts the data loaders (the multi-task scheduler's epoch
count) where they were. The kill may land inside a checkpoint write; `ain_atomic` writes them whole
or not at all (its own tests kill a save deterministically), and the resumed run's `best.th` is the
uninterrupted run's.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.helpers import CONFIGS, FIXTURES, ROOT
from tests.multitask_configs_test import DATA as MULTITASK_DATA

ALLENNLP = str(Path(sys.executable).parent / "allennlp")
EPOCHS = 4


def _setup(kind: str, tmp: Path):
    """(config, env, overrides) of a run long enough (a few seconds an epoch) to be killed mid-epoch."""
    glove = str(FIXTURES / "embeddings" / "glove_sample.txt")
    if kind == "single":
        data = tmp / "ner.txt"
        data.write_text(((FIXTURES / "conll" / "ner_sample.txt").read_text(encoding="utf-8").strip() + "\n\n") * 40)
        env = {"TRAIN_DATA": str(data), "DEV_DATA": str(FIXTURES / "conll" / "ner_sample.txt"),
               "TEST_DATA": str(FIXTURES / "conll" / "ner_sample.txt"), "ENCODER": "bilstm", "DECODER": "crf",
               "GLOVE": glove, "CUDA_DEVICE": "-1"}
        overrides = {"model.encoder.hidden_size": 8, "dataset_reader.tag_scheme": "BIO",
                     "validation_dataset_reader.tag_scheme": "BIO", "data_loader.batch_sampler.batch_size": 4}
        return CONFIGS / "conll03_ner.jsonnet", env, overrides
    env = {key: str(path) for key, path in MULTITASK_DATA["sclstm_pos_chunk_ner.jsonnet"].items()}
    pos = tmp / "pos.conllu"
    pos.write_text(((FIXTURES / "ud" / "en_ewt_sample.conllu").read_text(encoding="utf-8").strip() + "\n\n") * 30)
    env.update(POS_TRAIN=str(pos), TASKS="pos,ner", ENCODER="sc_lstm", DECODER="mfvi1", GLOVE=glove, CUDA_DEVICE="-1")
    overrides = {"model.encoder.hidden_size": 8, "data_loader.scheduler.batch_size": 4}
    return CONFIGS / "multitask" / "sclstm_pos_chunk_ner.jsonnet", env, overrides


def _command(config: Path, run: Path, overrides: dict, *extra: str):
    overrides = {**overrides, "trainer.num_epochs": EPOCHS, "evaluate_on_test": False}
    return [ALLENNLP, "train", str(config), "-s", str(run), "-o", json.dumps(overrides),
            "--include-package", "allennlp_ain", *extra]


def _environment(env: dict) -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", **env}


def _train(config, run, env, overrides, *extra):
    result = subprocess.run(_command(config, run, overrides, *extra), cwd=ROOT, env=_environment(env),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads((run / "metrics.json").read_text())


def _same(metrics: dict, reference: dict) -> None:
    keys = [key for key in reference if key.startswith(("best_validation_", "training_", "validation_"))
            and "memory" not in key and "duration" not in key]
    assert keys and metrics["best_epoch"] == reference["best_epoch"] and metrics["epoch"] == reference["epoch"]
    for key in keys:
        assert metrics[key] == pytest.approx(reference[key], abs=1e-6), key


@pytest.mark.parametrize("kind, signum", [("single", signal.SIGKILL), ("single", signal.SIGINT), ("multitask", signal.SIGKILL)])
def test_killed_and_recovered_equals_uninterrupted(kind, signum, tmp_path):
    config, env, overrides = _setup(kind, tmp_path)
    reference = _train(config, tmp_path / "reference", env, overrides)

    run = tmp_path / "killed"
    # a test runner's worker may ignore SIGINT, which its children inherit: give the run the default
    process = subprocess.Popen(_command(config, run, overrides), cwd=ROOT, env=_environment(env),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # kill it in the epoch after the second one finished: its checkpoint is at epoch 2 (or 1)
    deadline = time.time() + 300
    while not (run / "metrics_epoch_1.json").exists():
        assert process.poll() is None and time.time() < deadline, "the run ended before its second epoch"
        time.sleep(0.05)
    time.sleep(0.5)
    process.send_signal(signum)
    process.wait(timeout=120)
    assert not (run / "metrics.json").exists(), "killed too late: the run had finished"

    metrics = _train(config, run, env, overrides, "--recover")
    _same(metrics, reference)
    # and the archive holds the same best weights
    best, reference_best = torch.load(run / "best.th"), torch.load(tmp_path / "reference" / "best.th")
    assert best.keys() == reference_best.keys()
    for name, value in reference_best.items():
        torch.testing.assert_close(best[name], value, rtol=0, atol=1e-6, msg=name)
