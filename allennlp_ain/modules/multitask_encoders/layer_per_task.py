from typing import Dict, List

import torch

from allennlp_ain.modules.multitask_encoders.multitask_encoder import MultiTaskEncoder, run_packed


@MultiTaskEncoder.register("ain_layer_per_task")
class LayerPerTaskEncoder(MultiTaskEncoder):
    """
    A stacked bidirectional LSTM whose layer `l` feeds task `l`'s head: the LSTM-d baseline of Lu
    et al. (after Søgaard and Goldberg, 2016), lower tasks supervising lower layers. The order of
    `tasks` is the order of the layers, bottom first (the paper puts the target task last), so
    there are as many layers as tasks; task `k` reads `[h_fwd ; h_bwd]` of layer `k`, zero at
    padding.

    Registered as a `MultiTaskEncoder` with name "ain_layer_per_task".

    # Parameters

    input_dim : `int`
        The width of the input vectors.
    hidden_size : `int`
        Units per direction of every layer.
    tasks : `List[str]`
        The task names, bottom layer first.
    dropout : `float`, optional (default = `0.0`)
        Dropout between layers.
    """

    def __init__(self, input_dim: int, hidden_size: int, tasks: List[str], dropout: float = 0.0) -> None:
        super().__init__(tasks)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"ain_layer_per_task: dropout must be in [0, 1), got {dropout}")
        self.input_dim = input_dim
        self.hidden_size = hidden_size
        self.layers = torch.nn.ModuleList(
            torch.nn.LSTM(input_dim if k == 0 else 2 * hidden_size, hidden_size, bidirectional=True, batch_first=True)
            for k in range(len(tasks))
        )
        self.dropout = torch.nn.Dropout(dropout)

    def get_input_dim(self) -> int:
        return self.input_dim

    def get_output_dim(self, task: str) -> int:
        if task not in self.tasks:
            raise KeyError(f"ain_layer_per_task has no task {task!r}; its tasks are {self.tasks}")
        return 2 * self.hidden_size

    def forward(self, inputs: torch.Tensor, mask: torch.BoolTensor) -> Dict[str, torch.Tensor]:  # type: ignore
        lengths = mask.sum(1).cpu()
        outputs = {}
        x = inputs
        for index, (task, layer) in enumerate(zip(self.tasks, self.layers)):
            if index > 0:
                x = self.dropout(x)
            x = run_packed(layer, x, lengths)
            outputs[task] = x
        return outputs
