import random
from typing import Any, Dict, Iterator, List, Optional

import numpy
import torch
from allennlp.training.callbacks.callback import TrainerCallback


@TrainerCallback.register("ain_rng_state")
class RngStateCallback(TrainerCallback):
    """
    Makes `allennlp train --recover` continue a run as if it had never stopped: the random states
    of Python, numpy and torch (the CUDA generators too, on a GPU) are saved with every checkpoint
    and put back where the resumed run takes up training.

    A resumed AllenNLP run first replays the finished epochs through the training data loader
    without training them, so the loader's own state (e.g. `ain_random_interleave`'s epoch count)
    advances as before, but the random generators do not end where they were: the replay runs no
    model and no validation. So the torch state is put back when training starts (nothing in the
    replay draws from it), and the Python and numpy states just before the first epoch that trains,
    when the trainer asks its data loader for that epoch's batches (it shuffles them then). On the
    CPU the resumed run then gives the same weights and metrics as the uninterrupted run (tested);
    on a GPU, non-deterministic kernels may still make them differ. A checkpoint taken inside an
    epoch (`save_every_num_batches`) resumes with the states of that moment, not exactly.

    The state is tensors and plain Python values (no numpy objects), as `torch.load` of a
    checkpoint requires.

    Registered as a `TrainerCallback` with name "ain_rng_state".
    """

    def __init__(self, serialization_dir: str) -> None:
        super().__init__(serialization_dir)
        self._restored: Optional[Dict[str, Any]] = None

    def state_dict(self) -> Dict[str, Any]:
        kind, keys, position, has_gauss, gauss = numpy.random.get_state()
        state: Dict[str, Any] = {
            "python": random.getstate(),
            "numpy": (kind, torch.from_numpy(keys.astype("int64")), int(position), int(has_gauss), float(gauss)),
            "torch": torch.get_rng_state(),
        }
        if torch.cuda.is_available():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        # kept until `on_start`: the trainer restores the checkpoint before it starts
        self._restored = state_dict

    def on_start(self, trainer, is_primary: bool = True, **kwargs) -> None:
        if self._restored is None:
            return
        state, self._restored = self._restored, None
        torch.set_rng_state(state["torch"])
        cuda: List[torch.Tensor] = state.get("cuda", [])
        if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)
        # the replayed epochs come first: one `iter(data_loader)` each
        trainer.data_loader = _RestoreBeforeEpoch(trainer.data_loader, trainer._start_after_epochs_completed, state)


class _RestoreBeforeEpoch:
    """The trainer's data loader, which sets the Python and numpy random states when it is asked
    for the batches of epoch `epoch` (0-based), before it makes them."""

    def __init__(self, loader, epoch: int, state: Dict[str, Any]) -> None:
        self._loader = loader
        self._epoch = epoch
        self._calls = 0
        self._state = state

    def __iter__(self) -> Iterator:
        if self._calls == self._epoch:
            random.setstate(self._state["python"])
            kind, keys, position, has_gauss, gauss = self._state["numpy"]
            numpy.random.set_state((kind, keys.numpy().astype("uint32"), position, has_gauss, gauss))
        self._calls += 1
        return iter(self._loader)

    def __len__(self) -> int:
        return len(self._loader)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)
