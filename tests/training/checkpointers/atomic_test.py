"""
`ain_atomic` against the moments a kill can land in: inside a checkpoint write (a real SIGKILL of a
process mid-`torch.save`), between the checkpoint and the trainer's `best.th`, and after a best
epoch whose checkpoint names no best file. Each scenario is run with AllenNLP's `default`
checkpointer too, which loses the run or ends it with the wrong weights, so the scenarios are real.
"""
import logging
import multiprocessing
import os
import signal
from pathlib import Path
from typing import Dict

import pytest
import torch
from allennlp.data import Instance, Vocabulary
from allennlp.data.data_loaders import SimpleDataLoader
from allennlp.data.fields import TensorField
from allennlp.models import Model
from allennlp.training import GradientDescentTrainer
from allennlp.training.checkpointer import Checkpointer
from allennlp.training.trainer import TrainerCheckpoint

from allennlp_ain.training.checkpointers import atomic
from allennlp_ain.training.checkpointers.atomic import AtomicCheckpointer, save_atomically


class _Trainer:
    """What a checkpointer asks of a trainer."""

    def __init__(self, model_state: Dict, training_state: Dict) -> None:
        self.state = TrainerCheckpoint(model_state, training_state)

    def get_checkpoint_state(self) -> TrainerCheckpoint:
        return self.state


def _state(epochs: int, size: int = 1000, best_epoch=None, is_best=False):
    model = {"weight": torch.full((size,), float(epochs))}
    tracker = {"best_so_far": None, "epochs_with_no_improvement": 0, "is_best_so_far": is_best,
               "epoch_number": epochs, "best_epoch": best_epoch, "best_epoch_metrics": {}}
    training = {"version": 1, "metric_tracker": tracker, "epochs_completed": epochs,
                "batches_in_epoch_completed": 0, "best_model_filename": None}
    return model, training


def _save(checkpointer: Checkpointer, epochs: int, **kwargs) -> None:
    checkpointer.save_checkpoint(_Trainer(*_state(epochs, **kwargs)))


def _killed_while_saving(kind: str, directory: str) -> None:
    """Saves checkpoint 1, then dies by SIGKILL half way through the bytes of checkpoint 2's model state."""
    checkpointer = Checkpointer.by_name(kind)(directory)
    _save(checkpointer, 1)
    real_save = torch.save

    def save_half_and_die(value, target, *args, **kwargs):
        if not isinstance(value, dict) or "weight" not in value:
            return real_save(value, target, *args, **kwargs)
        real_save(value, target, *args, **kwargs)
        file = open(target, "r+b") if isinstance(target, (str, os.PathLike)) else target
        file.flush()
        file.truncate(os.fstat(file.fileno()).st_size // 2)
        file.flush()
        os.kill(os.getpid(), signal.SIGKILL)

    torch.save = save_half_and_die
    _save(checkpointer, 2)


@pytest.mark.parametrize("kind", ["ain_atomic", "default"])
def test_a_kill_inside_a_checkpoint_write(kind, tmp_path):
    process = multiprocessing.get_context("fork").Process(target=_killed_while_saving, args=(kind, str(tmp_path)))
    process.start()
    process.join(60)
    assert process.exitcode == -signal.SIGKILL

    checkpointer = Checkpointer.by_name(kind)(str(tmp_path))
    if kind == "default":
        # the truncated newest model state is what AllenNLP's own checkpointer tries, and fails on
        with pytest.raises((EOFError, RuntimeError)):
            checkpointer.load_checkpoint()
        return
    # the half-written bytes were never at the checkpoint's name: checkpoint 1 is the newest there is
    assert sorted(p.name for p in tmp_path.glob("model_state_*.th")) == ["model_state_e1_b0.th"]
    assert [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")], "the kill left its temporary file"
    loaded = checkpointer.load_checkpoint()
    assert loaded.trainer_state["epochs_completed"] == 1
    assert torch.equal(loaded.model_state["weight"], torch.full((1000,), 1.0))
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")], "load removes what a killed save left"


def test_an_unreadable_newest_checkpoint_falls_back_to_the_one_before(tmp_path, caplog):
    checkpointer = AtomicCheckpointer(tmp_path, keep_most_recent_by_count=None)
    for epochs in (1, 2, 3):
        _save(checkpointer, epochs)
    # as a kill inside the `default` checkpointer's write, or a copy cut short, leaves it
    newest = tmp_path / "model_state_e3_b0.th"
    newest.write_bytes(newest.read_bytes()[:100])
    (tmp_path / "training_state_e2_b0.th").write_bytes(b"")
    with caplog.at_level(logging.WARNING):
        loaded = AtomicCheckpointer(tmp_path).load_checkpoint()
    assert loaded.trainer_state["epochs_completed"] == 1
    assert "model_state_e3_b0.th cannot be read" in caplog.text
    assert "training_state_e2_b0.th cannot be read" in caplog.text

    # the next save at that point overwrites the unreadable file
    _save(checkpointer, 3)
    assert AtomicCheckpointer(tmp_path).load_checkpoint().trainer_state["epochs_completed"] == 3


def test_no_readable_checkpoint_is_an_error_naming_the_files(tmp_path):
    checkpointer = AtomicCheckpointer(tmp_path)
    _save(checkpointer, 1)
    (tmp_path / "model_state_e1_b0.th").write_bytes(b"\x00" * 10)
    with pytest.raises(RuntimeError, match=r"no checkpoint can be read(.|\n)*model_state_e1_b0\.th"):
        checkpointer.load_checkpoint()
    # a directory without checkpoints is a new run
    assert AtomicCheckpointer(tmp_path / "empty").load_checkpoint() is None


def test_old_checkpoints_are_removed_as_by_the_default_checkpointer(tmp_path):
    checkpointer = AtomicCheckpointer(tmp_path)
    for epochs in (1, 2, 3, 4):
        _save(checkpointer, epochs)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "model_state_e3_b0.th", "model_state_e4_b0.th", "training_state_e3_b0.th", "training_state_e4_b0.th"]


def test_save_atomically_keeps_the_old_content_when_the_write_fails(tmp_path):
    path = tmp_path / "state.th"
    save_atomically({"a": torch.ones(3)}, path)

    class Unpicklable:
        def __reduce__(self):
            raise TypeError("cannot pickle this")

    with pytest.raises(TypeError):
        save_atomically({"a": torch.zeros(3), "b": Unpicklable()}, path)
    assert torch.equal(torch.load(path)["a"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["state.th"]


@pytest.mark.parametrize("latest_is_best, every_epoch_validated, mended", [
    (True, True, True), (False, True, False), (True, False, False)])
def test_best_model_is_mended_only_from_a_best_epoch_checkpoint(latest_is_best, every_epoch_validated, mended, tmp_path):
    checkpointer = AtomicCheckpointer(tmp_path)
    model, training = _state(2, best_epoch=1 if latest_is_best else 0, is_best=latest_is_best)
    if not every_epoch_validated:
        training["metric_tracker"]["epoch_number"] = 1
    checkpointer.save_checkpoint(_Trainer(model, training))
    old_best = {"weight": torch.full((1000,), -1.0)}
    torch.save(old_best, tmp_path / "best.th")

    loaded = AtomicCheckpointer(tmp_path).load_checkpoint()
    best = torch.load(tmp_path / "best.th")["weight"]
    assert torch.equal(best, model["weight"] if mended else old_best["weight"])
    assert loaded.trainer_state["best_model_filename"] == (
        os.path.join(str(tmp_path), "best.th") if every_epoch_validated else None)


# Through AllenNLP's real trainer: a model whose dev score only worsens, so its first epoch is the best.


class _Worsening(Model):
    def __init__(self) -> None:
        super().__init__(Vocabulary())
        self.linear = torch.nn.Linear(2, 1)
        self.register_buffer("steps", torch.zeros(()))

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        if self.training:
            self.steps += 1
        return {"loss": self.linear(x).mean()}

    def get_metrics(self, reset: bool = False) -> Dict[str, float]:
        return {"score": -float(self.steps)}


def _train(kind: str, directory: Path, epochs: int) -> Model:
    torch.manual_seed(0)
    model = _Worsening()
    instances = [Instance({"x": TensorField(torch.randn(2))}) for _ in range(8)]
    loader = SimpleDataLoader(instances, batch_size=4, vocab=model.vocab)
    trainer = GradientDescentTrainer(
        model, torch.optim.SGD(model.parameters(), lr=0.1), loader, validation_data_loader=loader,
        validation_metric="+score", num_epochs=epochs, serialization_dir=str(directory),
        checkpointer=Checkpointer.by_name(kind)(str(directory)), enable_default_callbacks=False)
    trainer.train()
    return model


@pytest.mark.parametrize("kind", ["ain_atomic", "default"])
@pytest.mark.parametrize("killed_before_best_th", [False, True])
def test_a_resumed_run_ends_with_its_best_weights(kind, killed_before_best_th, tmp_path):
    best = {name: value.clone() for name, value in _train(kind, tmp_path / "reference", 1).state_dict().items()}

    run = tmp_path / "run"
    _train(kind, run, 1)
    if killed_before_best_th:
        # the trainer copies the checkpoint to best.th only after the checkpoint is written
        (run / "best.th").unlink()
    final = _train(kind, run, 3).state_dict()  # `--recover` to 3 epochs; epochs 2 and 3 score worse

    same = all(torch.equal(final[name], best[name]) for name in best)
    # AllenNLP's checkpointer keeps the last epoch's weights: its checkpoint named no best file
    assert same == (kind == "ain_atomic")
