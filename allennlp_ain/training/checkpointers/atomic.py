import glob
import logging
import os
import pickle
import shutil
import tempfile
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

import torch
from allennlp.nn.util import device_mapping
from allennlp.training.checkpointer import Checkpointer
from allennlp.training.trainer import Trainer, TrainerCheckpoint

logger = logging.getLogger(__name__)

# what `torch.load` raises on a file cut short or garbled
_UNREADABLE = (EOFError, RuntimeError, OSError, pickle.UnpicklingError, ValueError)


@contextmanager
def _replaced_when_whole(path: Union[str, os.PathLike]) -> Iterator[str]:
    """Yields a temporary name beside `path` to write; `os.replace` moves it to `path` when the block
    ends without an error, and it is removed when one is raised."""
    directory, name = os.path.split(os.fspath(path))
    descriptor, temporary = tempfile.mkstemp(dir=directory or ".", prefix=name, suffix=".tmp")
    os.close(descriptor)
    try:
        yield temporary
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def save_atomically(value: Any, path: Union[str, os.PathLike]) -> None:
    """
    `torch.save(value, path)` that a kill cannot leave half done: the bytes go to a temporary file
    in the same directory (`<name>XXXX.tmp`), are flushed to disk, and `os.replace` puts the file at
    `path` in one step. So `path` holds either its old content or the whole new one.
    """
    with _replaced_when_whole(path) as temporary, open(temporary, "wb") as file:
        torch.save(value, file)
        file.flush()
        os.fsync(file.fileno())


def _copy_atomically(source: str, path: str) -> None:
    with _replaced_when_whole(path) as temporary:
        shutil.copyfile(source, temporary)


@Checkpointer.register("ain_atomic")
class AtomicCheckpointer(Checkpointer):
    """
    AllenNLP's checkpointer, made safe against a kill at any moment, so that `allennlp train
    --recover` always finds a whole checkpoint and the right best weights.

    AllenNLP's own `default` checkpointer writes `model_state_e*_b*.th` and
    `training_state_e*_b*.th` with a plain `torch.save`: a run killed while it writes (SIGKILL, a
    session or job limit, a full disk) leaves a truncated file, and `--recover` then fails with
    `EOFError` on the newest checkpoint although the one before it is whole. This checkpointer

    - writes every file through a temporary file and `os.replace` (`save_atomically`), the training
      state first and the model state last, so a model state file on disk (what marks a checkpoint)
      means the whole checkpoint is there;
    - when it loads, takes the newest checkpoint that reads back whole, and falls back to the one
      before it (with a warning naming the file) if the newest was cut short by an older run, a
      copy, or the `default` checkpointer; it raises if checkpoints exist but none can be read,
      rather than start the run again from nothing;
    - repairs `best.th`. The trainer copies the best epoch's checkpoint to `best.th` only after the
      checkpoint is saved, and the checkpoint stores `best_model_filename` from before that copy.
      A kill between the two left a stale or missing `best.th`, and a checkpoint taken after the
      first best epoch recorded no best file at all, so a resumed run that never improved again
      ended with its last weights, not its best. On loading, if the checkpoint's epoch is the best
      so far, its model state is copied to `best.th`; and the loaded training state names
      `best.th` whenever an epoch has been validated. (Only without a moving average, every epoch
      validated and an unsharded model; otherwise `best.th` is left to the trainer.)
    - removes temporary files a killed save left behind.

    Checkpoints are the same files, in the same places, as the `default` checkpointer's. The
    parameters are the `default` checkpointer's.

    Registered as a `Checkpointer` with name "ain_atomic".

    # Parameters

    serialization_dir : `Union[str, os.PathLike]`
        Where the run writes; the trainer passes it.
    save_completed_epochs : `bool`, optional (default = `True`)
        Save a checkpoint at the end of each completed epoch.
    save_every_num_seconds : `float`, optional (default = `None`)
        Also save when this many seconds have passed since the last save.
    save_every_num_batches : `int`, optional (default = `None`)
        Also save every this many batches within an epoch.
    keep_most_recent_by_count : `int`, optional (default = `2`)
        Keep this many newest checkpoints (`None`: keep all unless `keep_most_recent_by_age`).
    keep_most_recent_by_age : `int`, optional (default = `None`)
        Also keep checkpoints younger than this many seconds.
    """

    def __init__(
        self,
        serialization_dir: Union[str, os.PathLike],
        save_completed_epochs: bool = True,
        save_every_num_seconds: Optional[float] = None,
        save_every_num_batches: Optional[int] = None,
        keep_most_recent_by_count: Optional[int] = 2,
        keep_most_recent_by_age: Optional[int] = None,
    ) -> None:
        super().__init__(
            serialization_dir,
            save_completed_epochs=save_completed_epochs,
            save_every_num_seconds=save_every_num_seconds,
            save_every_num_batches=save_every_num_batches,
            keep_most_recent_by_count=keep_most_recent_by_count,
            keep_most_recent_by_age=keep_most_recent_by_age,
        )

    def save_checkpoint(self, trainer: Trainer) -> None:
        state = trainer.get_checkpoint_state()
        if state is not None:
            point = (state.trainer_state["epochs_completed"], state.trainer_state["batches_in_epoch_completed"])
            # always written, even over an existing file: one left by a run that was cut short may be
            # unreadable. The model state last: its file marks a whole checkpoint.
            save_atomically(state.trainer_state, self._training_state_path(*point))
            save_atomically(state.model_state, self._model_state_path(*point))
        # the base class finds both files there and does the rest: its bookkeeping and the removal
        # of old checkpoints
        super().save_checkpoint(trainer)

    def load_checkpoint(self) -> Optional[TrainerCheckpoint]:
        if self._is_primary:
            self._remove_temporary_files()
        points = sorted(self._find_all_checkpoints(), reverse=True)
        unreadable: List[str] = []
        for point in points:
            loaded = self._load(point, unreadable)
            if loaded is not None:
                model_state, training_state = loaded
                self._mend_best_model(point, training_state)
                return TrainerCheckpoint(model_state, training_state)
        if unreadable:
            raise RuntimeError(
                f"{self._serialization_dir}: no checkpoint can be read, so --recover cannot continue the run "
                "(starting again would overwrite its results):\n  " + "\n  ".join(unreadable)
            )
        return None

    def _load(self, point: Tuple[int, int], unreadable: List[str]) -> Optional[Tuple[Dict, Dict]]:
        states = []
        for path in (self._model_state_path(*point), self._training_state_path(*point)):
            try:
                states.append(torch.load(path, map_location=device_mapping(-1)))
            except _UNREADABLE as error:
                unreadable.append(f"{path}: {type(error).__name__}: {error}")
                logger.warning(
                    "%s cannot be read (%s: %s); trying the checkpoint before it", path, type(error).__name__, error
                )
                return None
        return states[0], states[1]

    def _mend_best_model(self, point: Tuple[int, int], training_state: Dict[str, Any]) -> None:
        tracker = training_state.get("metric_tracker", {})
        if (
            self.state_is_sharded
            or tracker.get("best_epoch") is None
            or "moving_average" in training_state
            or tracker.get("epoch_number") != training_state.get("epochs_completed")
        ):
            return
        best = os.path.join(self._serialization_dir, "best.th")
        _, batches_in_epoch_completed = point
        if batches_in_epoch_completed == 0 and tracker.get("is_best_so_far") and self._is_primary:
            # the epoch just finished is the best: the trainer may have been killed before it made
            # best.th of this checkpoint
            _copy_atomically(self._model_state_path(*point), best)
        if os.path.isfile(best):
            training_state["best_model_filename"] = best

    def _remove_temporary_files(self) -> None:
        for pattern in ("model_state_e*.th*.tmp", "training_state_e*.th*.tmp", "best.th*.tmp"):
            for path in glob.glob(os.path.join(glob.escape(self._serialization_dir), pattern)):
                logger.info("removing %s, left by a save that was killed", path)
                os.remove(path)
