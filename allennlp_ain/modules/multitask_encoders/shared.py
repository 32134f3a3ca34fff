from typing import Dict, List

import torch
from allennlp.modules import Seq2SeqEncoder

from allennlp_ain.modules.multitask_encoders.multitask_encoder import MultiTaskEncoder


@MultiTaskEncoder.register("ain_shared")
class SharedEncoder(MultiTaskEncoder):
    """
    One encoder shared by every task, every task reading its top layer: the LSTM-s baseline of
    Lu et al. (with an `lstm` encoder), or any `Seq2SeqEncoder` used for several tasks at once.
    Every task's output is the same tensor.

    Registered as a `MultiTaskEncoder` with name "ain_shared".

    # Parameters

    encoder : `Seq2SeqEncoder`
        The shared encoder.
    tasks : `List[str]`
        The task names.
    """

    def __init__(self, encoder: Seq2SeqEncoder, tasks: List[str]) -> None:
        super().__init__(tasks)
        self.encoder = encoder

    def get_input_dim(self) -> int:
        return self.encoder.get_input_dim()

    def get_output_dim(self, task: str) -> int:
        if task not in self.tasks:
            raise KeyError(f"ain_shared has no task {task!r}; its tasks are {self.tasks}")
        return self.encoder.get_output_dim()

    def forward(self, inputs: torch.Tensor, mask: torch.BoolTensor) -> Dict[str, torch.Tensor]:  # type: ignore
        encoded = self.encoder(inputs, mask)
        return {task: encoded for task in self.tasks}
