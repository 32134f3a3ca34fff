from typing import Dict, List, Tuple

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from allennlp_ain.modules.multitask_encoders.multitask_encoder import MultiTaskEncoder


class _TaskGate(torch.nn.Module):
    """The task-specific cell of one task in one direction: `o^k_t = σ(W_k q^k_{t-1} + U_k x_t + b_k)`."""

    def __init__(self, input_dim: int, hidden_size: int) -> None:
        super().__init__()
        self.input_weight = torch.nn.Parameter(torch.empty(hidden_size, input_dim))  # U_k
        self.recurrent_weight = torch.nn.Parameter(torch.empty(hidden_size, hidden_size))  # W_k
        self.bias = torch.nn.Parameter(torch.zeros(hidden_size))
        bound = hidden_size**-0.5  # as torch.nn.LSTM initialises its weights
        torch.nn.init.uniform_(self.input_weight, -bound, bound)
        torch.nn.init.uniform_(self.recurrent_weight, -bound, bound)


@MultiTaskEncoder.register("ain_sc_lstm")
class ScLstm(MultiTaskEncoder):
    """
    The shared-cell LSTM (SC-LSTM) of Lu et al., Eq. 1–3: a standard LSTM cell shared by all tasks
    and, per task `k`, one extra output gate over the shared memory,

        o^k_t = σ(W_k q^k_{t-1} + U_k x_t + b_k),    q^k_t = o^k_t ⊙ tanh(c_t),

    where `x_t` is the layer's input, `c_t` the shared cell's memory (Eq. 1) and `q^k_0 = 0`. The
    top layer gives task `k` `s^k_t = [q^k_t ; h_t]` (Eq. 3); lower layers are plain LSTM layers
    that pass `h_t` up, so only the top layer has task gates. (The authors' released code couples
    the task outputs through a running sum over earlier tasks; this is Eq. 2 as written.) The
    gates have a bias `b_k`, as the shared cell's gates do.

    Bidirectional (the default): every layer has a forward and a backward shared cell, the next
    layer reads both directions' `h` side by side (as `torch.nn.LSTM` stacks), and the top layer
    has task gates per direction: `s^k_t = [q^k_fwd ; q^k_bwd ; h_fwd ; h_bwd]`, so
    `get_output_dim(task)` is `4 · hidden_size` (`2 · hidden_size` one-directional). The backward
    direction starts at each sentence's own last token, so padding never reaches a real token.

    Task `k`'s gate parameters (`task_gates.<fwd|bwd>.<k>.*`, names that contain the task's
    name) receive gradient only from task `k`'s output. One forward pass serves every task: the
    shared cell does not depend on the task gates, the lower layers run as `torch.nn.LSTM`, and
    `U_k x_t` for every task and step is one batched product; only `W_k q^k_{t-1}` recurs per step,
    for all tasks in one batched product.

    Registered as a `MultiTaskEncoder` with name "ain_sc_lstm".

    # Parameters

    input_dim : `int`
        The width of the input vectors.
    hidden_size : `int`
        The width of `h`, `c` and every `q^k`, per direction.
    num_layers : `int`, optional (default = `1`)
        Stacked layers; the task gates sit on the top one.
    tasks : `List[str]`
        The task names (Python identifiers).
    dropout : `float`, optional (default = `0.0`)
        Dropout on the input of every layer but the first (between layers), as `torch.nn.LSTM`.
    bidirectional : `bool`, optional (default = `True`)
    """

    def __init__(
        self,
        input_dim: int,
        hidden_size: int,
        tasks: List[str],
        num_layers: int = 1,
        dropout: float = 0.0,
        bidirectional: bool = True,
    ) -> None:
        super().__init__(tasks)
        if num_layers < 1:
            raise ValueError(f"ain_sc_lstm: num_layers must be at least 1, got {num_layers}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"ain_sc_lstm: dropout must be in [0, 1), got {dropout}")
        self.input_dim = input_dim
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        directions = 2 if bidirectional else 1
        self.lower = (
            torch.nn.LSTM(
                input_dim,
                hidden_size,
                num_layers=num_layers - 1,
                dropout=dropout if num_layers > 2 else 0.0,
                bidirectional=bidirectional,
                batch_first=True,
            )
            if num_layers > 1
            else None
        )
        self.dropout = torch.nn.Dropout(dropout)
        top_input = input_dim if num_layers == 1 else directions * hidden_size
        self._directions = ["fwd", "bwd"][:directions]
        self.top_cells = torch.nn.ModuleDict(
            {direction: torch.nn.LSTMCell(top_input, hidden_size) for direction in self._directions}
        )
        self.task_gates = torch.nn.ModuleDict(
            {
                direction: torch.nn.ModuleDict({task: _TaskGate(top_input, hidden_size) for task in tasks})
                for direction in self._directions
            }
        )

    def get_input_dim(self) -> int:
        return self.input_dim

    def get_output_dim(self, task: str) -> int:
        if task not in self.tasks:
            raise KeyError(f"ain_sc_lstm has no task {task!r}; its tasks are {self.tasks}")
        return 2 * len(self._directions) * self.hidden_size

    def forward(self, inputs: torch.Tensor, mask: torch.BoolTensor) -> Dict[str, torch.Tensor]:  # type: ignore
        lengths = mask.sum(1)
        x = inputs
        if self.lower is not None:
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            x = pad_packed_sequence(self.lower(packed)[0], batch_first=True, total_length=inputs.size(1))[0]
            x = self.dropout(x)
        # per sentence, positions in reverse within its length (padding stays in place): the
        # backward direction runs forward over reversed sentences
        positions = torch.arange(inputs.size(1), device=inputs.device).unsqueeze(0)
        reverse = torch.where(mask, lengths.unsqueeze(1) - 1 - positions, positions)
        q_parts, h_parts = [], []
        for direction in self._directions:
            source = x if direction == "fwd" else _gather_time(x, reverse)
            h, q = self._run_top(direction, source)
            if direction == "bwd":
                h, q = _gather_time(h, reverse), _gather_time(q, reverse)
            h_parts.append(h)
            q_parts.append(q)
        h_all = torch.cat(h_parts, dim=-1)
        real = mask.unsqueeze(2).to(h_all.dtype)
        outputs = {}
        for index, task in enumerate(self.tasks):
            q_task = torch.cat([q[index] for q in q_parts], dim=-1)
            outputs[task] = torch.cat([q_task, h_all], dim=-1) * real
        return outputs

    def _run_top(self, direction: str, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """The top layer in one direction over `x` `(batch, seq, in)`: `h` `(batch, seq, H)` and
        `q` `(tasks, batch, seq, H)`."""
        cell = self.top_cells[direction]
        gates = [self.task_gates[direction][task] for task in self.tasks]
        batch, length, _ = x.shape
        h = x.new_zeros(batch, self.hidden_size)
        c = x.new_zeros(batch, self.hidden_size)
        hs, tanh_cs = [], []
        for t in range(length):
            h, c = cell(x[:, t], (h, c))
            hs.append(h)
            tanh_cs.append(torch.tanh(c))
        # U_k x_t + b_k for every task and step at once: (tasks, batch, seq, H)
        input_weights = torch.stack([gate.input_weight for gate in gates])
        biases = torch.stack([gate.bias for gate in gates])
        projected = torch.einsum("bti,khi->kbth", x, input_weights) + biases[:, None, None, :]
        recurrent = torch.stack([gate.recurrent_weight for gate in gates]).transpose(1, 2)  # (tasks, H, H)
        q = x.new_zeros(len(gates), batch, self.hidden_size)
        qs = []
        for t in range(length):
            q = torch.sigmoid(torch.baddbmm(projected[:, :, t], q, recurrent)) * tanh_cs[t]
            qs.append(q)
        return torch.stack(hs, dim=1), torch.stack(qs, dim=2)


def _gather_time(tensor: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """`tensor[..., b, index[b, t], :]` for a `(..., batch, seq, dim)` tensor and a `(batch, seq)` index."""
    index = index.unsqueeze(-1)
    while index.dim() < tensor.dim():
        index = index.unsqueeze(0)
    return tensor.gather(-2, index.expand(tensor.shape))
