"""The family of encoders whose output depends on the task: one pass over a batch, one output per task."""
from typing import Dict, List

import torch
from allennlp.common import Registrable
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class MultiTaskEncoder(torch.nn.Module, Registrable):
    """
    Base class of the multi-task encoders. Like AllenNLP's `Seq2SeqEncoder`, but `forward(inputs,
    mask)` returns a dict from every task name to that task's `(batch, seq, get_output_dim(task))`
    output, all computed in one pass over the batch (the shared part runs once whatever the number
    of tasks).

    - `inputs`: float `(batch, seq, get_input_dim())`; `mask`: bool `(batch, seq)`, left-aligned
      (`mask[b, :n_b]` true, every sentence at least one token). Outputs are zero at padding, and
      padding never changes a real token's output.
    - `tasks`: the task names, in the order of the config.
    """

    def __init__(self, tasks: List[str]) -> None:
        super().__init__()
        if not tasks:
            raise ValueError(f"{type(self).__name__} needs at least one task")
        if len(set(tasks)) != len(tasks):
            raise ValueError(f"{type(self).__name__}: task names repeat: {tasks}")
        for task in tasks:
            if not task.isidentifier():
                raise ValueError(f"{type(self).__name__}: task name {task!r} must be a Python identifier")
        self.tasks = list(tasks)

    def get_input_dim(self) -> int:
        raise NotImplementedError

    def get_output_dim(self, task: str) -> int:
        raise NotImplementedError

    def forward(self, inputs: torch.Tensor, mask: torch.BoolTensor) -> Dict[str, torch.Tensor]:  # type: ignore
        raise NotImplementedError


def run_packed(lstm: torch.nn.LSTM, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """A batch-first `torch.nn.LSTM` over left-aligned sentences of `lengths` (on the CPU): the
    output `(batch, seq, directions · H)`, zero at padding, each direction starting at its own end."""
    packed = pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False)
    return pad_packed_sequence(lstm(packed)[0], batch_first=True, total_length=inputs.size(1))[0]
