from typing import List, Optional, Tuple

import torch

from allennlp_ain.modules.decoders.chain_potentials import ChainPotentials
from allennlp_ain.modules.decoders.factorized import FactorizedDecoder
from allennlp_ain.modules.decoders.sequence_decoder import Inference, SequenceDecoder


@SequenceDecoder.register("mfvi")
class MeanField(ChainPotentials, FactorizedDecoder):
    """
    The approximate inference network (AIN): mean-field variational inference (MFVI) for a
    linear-chain CRF, unrolled for a fixed number of iterations `M` (Wang et al., 2021, §2).

    The CRF scores `score(y) = Σᵢ ψᵤ(x, yᵢ) + Σᵢ U[yᵢ₋₁, yᵢ] + start[y₁] + end[yₙ]`, plus, with
    `order = 2` (AIN-F2O, the factorized second-order CRF), `Σᵢ Ũ[yᵢ₋₂, yᵢ]`. MFVI approximates
    `P(y | x)` with a factorized `Q(y) = Πᵢ Qᵢ(yᵢ)`: `Q⁰ᵢ = softmax(ψᵤ(x, ·))`, then for
    `m = 1..M`, for every position `i` in parallel,

        qᵢᵐ = ψᵤ(x, ·) + Qᵢ₋₁ᵐ⁻¹ U + Qᵢ₊₁ᵐ⁻¹ Uᵀ [+ Qᵢ₋₂ᵐ⁻¹ Ũ + Qᵢ₊₂ᵐ⁻¹ Ũᵀ]
              + [i = 1] start + [i = nᵦ] end,          Qᵢᵐ = softmax(qᵢᵐ),

    where `nᵦ` is the sentence's own length: the end score goes to its last real token, and `Q`
    is zero at padded positions before any message is computed, so padding never reaches a real
    token (the official implementation lets uniform padded distributions leak into the last real
    token of the shorter sentences).

    It is a `FactorizedDecoder` whose token scores are `qᴹ`, so:

    - `loss`: `−Σᵢ log Qᵢᴹ(yᵢ*)` over each sentence's real tokens, averaged over sentences
      (Eq. in §2.3; computed with `log_softmax(qᴹ)`); `log_likelihood` is that sum per sentence,
      the log-probability of the tags under `Q`, not under the CRF.
    - `decode`: per-position `argmax Qᵢᴹ`, zero at padding. Without constraints nothing runs
      sequentially over positions. With `constraints`, the best sequence of `log Qᵢᴹ` that uses
      only allowed transitions (Viterbi with 0 / -10000 transition scores, as `MaxEnt` does), so
      the output is always valid, at the price of one sequential pass over the positions.
    - `marginals` / `log_marginals`: `Qᴹ` / `log Qᴹ`, zero at padding. These are **APPROXIMATE**
      marginals (mean-field beliefs, typically over-confident), not the CRF's exact `P(yᵢ | x)`
      (`exact_marginals` is false); use the `crf` decoder for exact ones. Differentiable.
    - `log_partition` and `topk` are not defined for this approximation (`has_partition` and
      `has_topk` are false) and raise `NotImplementedError`.

    With `constraints`, the -10000 penalties are added to `U`, `start` and `end` in every message,
    in training and prediction alike (as the `crf` decoder does); `Ũ` is not constrained (the
    label schemes constrain neighbours only).

    Shapes follow `SequenceDecoder`: `logits (batch, seq, L)`, `mask (batch, seq)`. Everything is
    vectorised over batch and positions (shifted copies of `Q` and one
    `(batch·seq, 2·order·L) @ (2·order·L, L)` product per iteration); nothing reads a tensor value
    on the host. Work `O(M n L²)`, depth `O(M log L)` with full parallelism (versus `O(n log L)`
    for the exact CRF). The computation runs with autocast disabled, in float32 for half-precision
    input (so bf16 / fp16 autocast cannot produce NaNs) and in float64 for float64 input.

    Registered as a `SequenceDecoder` with name "mfvi".

    # Parameters

    num_labels : `int`
        The size of the label set `L`.
    order : `int`, optional (default = `1`)
        `1` for AIN-1O (first-order CRF), `2` for AIN-F2O (factorized second order: an extra
        `L × L` matrix `second_order_transitions`, indexed [yᵢ₋₂, yᵢ]).
    iterations : `int`, optional (default = `3`)
        The number of mean-field iterations `M` (the paper uses 3). At least 1.
    constraints : `List[Tuple[int, int]]`, optional (default = `None`)
        Allowed `(from, to)` label pairs, START = `L`, END = `L + 1`. See `SequenceDecoder`.
    """

    def __init__(
        self,
        num_labels: int,
        order: int = 1,
        iterations: int = 3,
        constraints: Optional[List[Tuple[int, int]]] = None,
    ) -> None:
        super().__init__(num_labels, constraints)
        if order not in (1, 2):
            raise ValueError(f"MeanField: order must be 1 or 2, got {order}")
        if iterations < 1:
            raise ValueError(f"MeanField: iterations must be at least 1, got {iterations}")
        self.order = order
        self.iterations = iterations
        self._add_chain_parameters(num_labels)
        if order == 2:
            self.second_order_transitions = torch.nn.Parameter(torch.zeros(num_labels, num_labels))
        else:
            self.register_parameter("second_order_transitions", None)

    def final_scores(self, logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """
        The last iteration's scores `qᴹ` `(batch, seq, L)` (float64 for float64 input, else
        float32), so that `Qᴹ = softmax(qᴹ)`. Values at padded positions are meaningless.
        """
        return self._scores(self.infer(logits, mask))

    def token_scores(self, inference: Inference) -> torch.Tensor:
        return self._iterate(inference.logits, inference.mask)

    def _iterate(self, logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        num_labels = self.num_labels
        transitions, start, end = self.potentials(logits.dtype)
        # `Inference` zeroes the logits at padded positions (garbage there, even inf / nan, reaches
        # no real token); Q is zero there too, so that padding sends no message to a real token
        real = mask.unsqueeze(2).to(logits.dtype)
        # the last real token of each sentence (mask is left-aligned)
        last = mask & ~torch.cat([mask[:, 1:], torch.zeros_like(mask[:, :1])], dim=1)
        # the boundary scores are unary factors: fold them into the unaries once
        unary = torch.cat([logits[:, :1] + start, logits[:, 1:]], dim=1) + last.unsqueeze(2) * end

        # one product gives every message: the neighbours' Q side by side, (batch · seq, 2 · order · L),
        # times [U; Uᵀ] (; Ũ; Ũᵀ) stacked, (2 · order · L, L)
        matrices = [transitions, transitions.t()]
        if self.order == 2:
            second = self.second_order_transitions.to(logits.dtype)
            matrices += [second, second.t()]
        stacked = torch.cat(matrices, dim=0)
        batch, length, order = logits.size(0), logits.size(1), self.order
        unary = unary.reshape(batch * length, num_labels)

        q = torch.softmax(logits, dim=-1) * real
        for iteration in range(self.iterations):
            padded = torch.nn.functional.pad(q, (0, 0, order, order))
            # position i sees Q[i - d] (for U_d) and Q[i + d] (for U_dᵀ), d = 1 .. order
            neighbours = []
            for distance in range(1, order + 1):
                neighbours.append(padded[:, order - distance : order - distance + length])
                neighbours.append(padded[:, order + distance : order + distance + length])
            neighbours = torch.cat(neighbours, dim=-1).reshape(batch * length, -1)
            scores = torch.addmm(unary, neighbours, stacked).view(batch, length, num_labels)
            if iteration + 1 < self.iterations:
                q = torch.softmax(scores, dim=-1) * real
        return scores
