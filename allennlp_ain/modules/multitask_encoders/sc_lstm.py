from typing import Dict, List

import torch

from allennlp_ain.modules.multitask_encoders.multitask_encoder import MultiTaskEncoder, run_packed


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
    for all tasks in one batched product. The top layer's shared cell runs as `torch.nn.LSTM` too;
    its memory's `tanh(c_t)`, which `torch.nn.LSTM` does not return, is `h_t / o_t`, with the
    output gate `o_t` of every step from the cell's inputs and outputs in one product
    (`_tanh_memory`).

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
        # the top layer's shared cell, both directions (weight names as torch.nn.LSTM's layer 0)
        self.top = torch.nn.LSTM(top_input, hidden_size, bidirectional=bidirectional, batch_first=True)
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
        packed_lengths = lengths.cpu()
        x = inputs
        if self.lower is not None:
            x = run_packed(self.lower, x, packed_lengths)
            x = self.dropout(x)
        h_all = run_packed(self.top, x, packed_lengths)
        # per sentence, positions in reverse within its length (padding stays in place): the
        # backward direction is the forward one over reversed sentences
        positions = torch.arange(inputs.size(1), device=inputs.device).unsqueeze(0)
        reverse = torch.where(mask, lengths.unsqueeze(1) - 1 - positions, positions)
        # both directions in running order (the backward one over reversed sentences), side by side
        hidden, directions = self.hidden_size, len(self._directions)
        sources, hs = [], []
        for index, direction in enumerate(self._directions):
            h = h_all[..., index * hidden : (index + 1) * hidden]
            sources.append(x if direction == "fwd" else _gather_time(x, reverse))
            hs.append(h if direction == "fwd" else _gather_time(h, reverse))
        q = self._task_outputs(sources, hs)  # (directions, tasks, batch, seq, H), running order
        # every task's output (tasks, batch, seq, 4H) = [q_fwd ; q_bwd ; h_fwd ; h_bwd] in one
        # concatenation, unbound into the tasks (one backward node for them all). `q` is zero at
        # padding as `h` is: `tanh(c)` comes out zero there (`_tanh_memory`)
        own = [
            q[index] if direction == "fwd" else _gather_time(q[index], reverse)
            for index, direction in enumerate(self._directions)
        ]
        output = torch.cat(own + [h_all.expand(len(self.tasks), *h_all.shape)], dim=-1)
        return dict(zip(self.tasks, output.unbind(0)))

    def _tanh_memory(self, direction: str, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """
        `tanh(c_t)` of the top cell `(batch, seq, H)`, every step in running order, from its input
        `x` and its outputs `h`: `h_t = o_t ⊙ tanh(c_t)`, and the output gate
        `o_t = σ(W_o x_t + U_o h_{t-1} + b_o)` of every step is one product, so `tanh(c_t) = h_t / o_t`
        with no loop over the steps. Exact as a function of the weights (so is its gradient);
        in floating point to a few units in the last place of `tanh(c_t)`, unless `o_t` underflows
        (a pre-activation below about −87 in float32), where `h_t` carries no trace of `c_t`
        and `tanh(c_t)` comes out as zero or near it.
        """
        suffix = "_reverse" if direction == "bwd" else ""
        rows = slice(3 * self.hidden_size, 4 * self.hidden_size)  # torch's gate order i, f, g, o
        w_ih = getattr(self.top, "weight_ih_l0" + suffix)[rows]
        w_hh = getattr(self.top, "weight_hh_l0" + suffix)[rows]
        bias = (getattr(self.top, "bias_ih_l0" + suffix) + getattr(self.top, "bias_hh_l0" + suffix))[rows]
        h_previous = torch.nn.functional.pad(h[:, :-1], (0, 0, 1, 0))
        output_gate = torch.sigmoid(
            torch.nn.functional.linear(x, w_ih, bias) + torch.nn.functional.linear(h_previous, w_hh)
        )
        # `h` is zero at padding, and so is `h / o` there whatever the inputs at padding; `o` is
        # kept off zero, so that an underflow gives zero rather than NaN (and no NaN gradient)
        return h / output_gate.clamp_min(torch.finfo(output_gate.dtype).tiny)

    def _task_outputs(self, sources, hs) -> torch.Tensor:
        """
        Every task's `q` `(directions, tasks, batch, seq, H)` in running order (Eq. 2), both
        directions in one loop over the steps.

        The top cell's `tanh(c_t)`, which `torch.nn.LSTM` does not return, comes from its outputs
        `h` and its output gate (`_tanh_memory`), for every step at once. Per-step slices come
        from `unbind` (one backward node for all steps; indexing step by step would give each step
        a backward that writes a zero tensor of the whole sequence).
        """
        directions, tasks, hidden = len(self._directions), len(self.tasks), self.hidden_size
        batch, length = sources[0].shape[:2]
        tanh_memory = torch.stack(
            [self._tanh_memory(direction, x, h) for direction, x, h in zip(self._directions, sources, hs)]
        )  # (directions, batch, seq, H)
        # per step (directions, 1, batch, H), broadcast over the tasks
        tanh_c = tanh_memory.permute(2, 0, 1, 3).unsqueeze(2).unbind(0)
        # U_k x_t + b_k for every direction, task and step at once, laid out as
        # (seq, directions · tasks, batch, H) so that each step's slice is contiguous
        projected = []
        recurrent = []
        for direction, x in zip(self._directions, sources):
            task_gates = [self.task_gates[direction][task] for task in self.tasks]
            weights = torch.cat([gate.input_weight for gate in task_gates])  # (tasks · H, in)
            biases = torch.cat([gate.bias for gate in task_gates])
            projected.append(torch.nn.functional.linear(x, weights, biases).view(batch, length, tasks, hidden))
            recurrent += [gate.recurrent_weight.t() for gate in task_gates]
        steps = torch.stack(projected).permute(2, 0, 3, 1, 4).reshape(length, directions * tasks, batch, hidden).unbind(0)
        recurrent_weights = torch.stack(recurrent)  # (directions · tasks, H, H), applied as q @ W_kᵀ
        q = torch.sigmoid(steps[0]).view(directions, tasks, batch, hidden) * tanh_c[0]  # q_0 = 0
        qs = [q]
        for t in range(1, length):
            pre = torch.baddbmm(steps[t], q.view(directions * tasks, batch, hidden), recurrent_weights)
            q = torch.sigmoid(pre).view(directions, tasks, batch, hidden) * tanh_c[t]
            qs.append(q)
        return torch.stack(qs, dim=3)


def _gather_time(tensor: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """`tensor[..., b, index[b, t], :]` for a `(..., batch, seq, dim)` tensor and a `(batch, seq)` index."""
    index = index.unsqueeze(-1)
    while index.dim() < tensor.dim():
        index = index.unsqueeze(0)
    return tensor.gather(-2, index.expand(tensor.shape))
