from typing import List, Optional, Tuple

import torch

from allennlp_ain.modules.decoders.chain_potentials import ChainPotentials
from allennlp_ain.modules.decoders.factorized import FactorizedDecoder
from allennlp_ain.modules.decoders.sequence_decoder import Inference, SequenceDecoder
from allennlp_ain.modules.decoders.span_repair import SpanLabels, first_max_label


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
    - `decode`: per-position `argmax Qᵢᴹ`, zero at padding; nothing runs sequentially over
      positions. With `constraints`, always valid under them: the argmax repaired in parallel
      (`valid_decoding="parallel"`, with the head's `span_labels`; no loop over positions) or the
      best sequence of `log Qᵢᴹ` that uses only allowed transitions (`"viterbi"`, one sequential
      pass); see `FactorizedDecoder`.
    - `marginals` / `log_marginals`: `Qᴹ` / `log Qᴹ`, zero at padding. These are **APPROXIMATE**
      marginals (mean-field beliefs, typically over-confident), not the CRF's exact `P(yᵢ | x)`
      (`exact_marginals` is false); use the `crf` decoder for exact ones. Differentiable.
    - `log_partition` and `topk` are not defined for this approximation (`has_partition` and
      `has_topk` are false) and raise `NotImplementedError`.

    Constraints act on decoding only: the messages use the learned `U`, `start` and `end` as they
    are, so `Q`, the loss and the marginals are those of the unconstrained decoder (penalties of
    -10000 in the messages pushed log Qᴹ down to about -20000 and made the final pass unreliable).

    Shapes follow `SequenceDecoder`: `logits (batch, seq, L)`, `mask (batch, seq)`. Everything is
    vectorised over batch and positions, label-major inside (`(L, batch, seq)`: the softmax over
    the labels is then elementwise over positions, and a shifted `Q` is a view), with `2 · order`
    `(L, L) @ (L, batch · seq)` products per iteration and a hand-written backward pass; nothing
    reads a tensor value on the host. `token_scores` and the log-probabilities are `(batch, seq, L)`
    views of label-major tensors (not contiguous). Work `O(M n L²)`, depth `O(M log L)` with full
    parallelism (versus `O(n log L)` for the exact CRF). The computation runs with autocast
    disabled, in float32 for half-precision input (so bf16 / fp16 autocast cannot produce NaNs) and
    in float64 for float64 input.

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
    span_labels : `SpanLabels`, optional (default = `None`)
        The label set's span structure, supplied by the tagging head with the constraints.
    valid_decoding : `str`, optional (default = `"parallel"`)
        `"parallel"` or `"viterbi"`: how constrained decoding finds a valid sequence.
    """

    def __init__(
        self,
        num_labels: int,
        order: int = 1,
        iterations: int = 3,
        constraints: Optional[List[Tuple[int, int]]] = None,
        span_labels: Optional[SpanLabels] = None,
        valid_decoding: str = "parallel",
    ) -> None:
        super().__init__(num_labels, constraints, span_labels, valid_decoding)
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
        return self._framed_scores(inference)[:, :, : inference.mask.size(1)].permute(1, 2, 0)

    def _token_log_probs(self, inference: Inference) -> torch.Tensor:
        # the softmax over the labels runs label-major, vectorised over the positions
        def compute() -> torch.Tensor:
            log_probs = torch.log_softmax(self._framed_scores(inference), dim=0)
            return log_probs[:, :, : inference.mask.size(1)].permute(1, 2, 0)

        return inference.cached("token_log_probs", compute)

    def _decode(self, inference: Inference) -> torch.Tensor:
        if self.constrained:
            return super()._decode(inference)
        tags = first_max_label(self._framed_scores(inference))[:, : inference.mask.size(1)]
        return tags.masked_fill(~inference.mask, 0)

    def _label_major_scores(self, inference: Inference) -> torch.Tensor:
        return self._framed_scores(inference)[:, :, : inference.mask.size(1)]

    def _framed_scores(self, inference: Inference) -> torch.Tensor:
        """`qᴹ` label-major and framed, `(L, batch, seq + order)`: `[:, :, :seq]` are the scores."""
        return inference.cached("framed_scores", lambda: self._iterate(inference.logits, inference.mask))

    def _iterate(self, logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """
        The iterations, label-major: the softmax over the labels and the shifts along positions
        are then elementwise over contiguous memory (PyTorch's CPU kernels for a reduction over a
        last dimension of 17 are several times slower). Each sentence is followed by `order`
        zero positions (a frame), so that a shifted `Q` is a view. Returns the last scores
        framed, `(L, batch, seq + order)`, the frame meaningless.
        """
        num_labels, order = self.num_labels, self.order
        batch = logits.size(0)
        dtype = logits.dtype
        transitions, start, end = self.chain_parameters(dtype)
        # `Inference` zeroes the logits at padded positions (garbage there, even inf / nan, reaches
        # no real token); Q is zero there and in the frame, so that padding sends no message
        logits = torch.nn.functional.pad(logits.permute(2, 0, 1), (0, order))  # (L, batch, framed seq)
        mask = torch.nn.functional.pad(mask, (0, order))
        width = mask.size(1)
        real = mask.to(dtype)  # broadcast over the labels
        # the boundary scores are unary factors, folded into the unaries once by one product:
        # start at the first token, end at each sentence's last real token (mask is left-aligned)
        first = mask & (torch.arange(width, device=mask.device) == 0)
        last = mask & ~torch.cat([mask[:, 1:], mask[:, :1]], dim=1)  # the frame wraps to a False
        boundaries = torch.stack([first, last]).to(dtype).view(2, batch * width)
        unary = torch.addmm(logits.view(num_labels, -1), torch.stack([start, end], dim=1), boundaries)
        unary = unary.view(num_labels, batch, width)
        # every message in one product: [U₁ᵀ; U₁] (; Ũᵀ; Ũ) stacked, (2 · order · L, L), times Q;
        # block 2d - 2 carries Q[i - d] U_d to position i, block 2d - 1 carries Q[i + d] U_dᵀ
        matrices = [transitions.t(), transitions]
        if order == 2:
            second = self.second_order_transitions.to(dtype)
            matrices += [second.t(), second]
        stacked = torch.cat(matrices, dim=0)
        if torch.jit.is_tracing() or torch.onnx.is_in_onnx_export() or torch.compiler.is_compiling():
            return _traceable_iterations(logits, unary, stacked, real, order, self.iterations)
        return _MeanFieldIterations.apply(logits, unary, stacked, real, order, self.iterations)


def _shifts(order: int) -> List[int]:
    """The position offset each stacked block reads Q at: -1, +1 (, -2, +2)."""
    return [sign * distance for distance in range(1, order + 1) for sign in (-1, 1)]


def _traceable_iterations(
    logits: torch.Tensor, unary: torch.Tensor, stacked: torch.Tensor, real: torch.Tensor, order: int, iterations: int
) -> torch.Tensor:
    """
    The iterations as plain differentiable operations, for tracing (ONNX export) and
    `torch.compile`; `_MeanFieldIterations` computes the same, faster in eager mode. Inputs framed,
    `logits` and `unary` `(L, batch, width)`, `real` `(batch, width)`, zero in the frame.
    """
    num_labels, batch, width = logits.shape
    padded_width = width + 2 * order
    q = torch.softmax(logits, dim=0) * real
    for iteration in range(iterations):
        padded = torch.nn.functional.pad(q, (order, order)).view(num_labels, batch * padded_width)
        messages = torch.mm(stacked, padded).view(2 * order, num_labels, batch, padded_width)
        scores = unary
        for block, shift in enumerate(_shifts(order)):
            scores = scores + messages[block, :, :, order + shift : order + shift + width]
        if iteration + 1 < iterations:
            q = torch.softmax(scores, dim=0) * real
    return scores


class _MeanFieldIterations(torch.autograd.Function):
    """
    The iterations with a hand-written backward pass. Inputs and output as `_traceable_iterations`
    (framed: each sentence followed by `order` zero positions); `Q` is kept flattened with `order`
    more zero columns in front and at the end, `(L, 2 · order + batch · width)`, so that `Q`
    shifted by up to `order` positions is a view, and each message is an `addmm` into the scores.
    The backward pass is the same products transposed plus the softmax's Jacobian,
    `dscores = Q ⊙ (dQ − Σₗ Q dQ)` (zero where `Q` is masked to zero); it saves the `Q`s only and
    runs about half the kernels autograd would.
    """

    @staticmethod
    def forward(ctx, logits, unary, stacked, real, order, iterations):  # type: ignore[override]
        num_labels, batch, width = logits.shape
        size = batch * width
        unary, real = unary.view(num_labels, size), real.view(1, size)
        matrices = stacked.view(2 * order, num_labels, num_labels)
        shifts = _shifts(order)

        def framed_softmax(scores: torch.Tensor) -> torch.Tensor:
            """`softmax(scores) ⊙ real` with `order` zero columns on either side."""
            q = scores.new_empty(num_labels, size + 2 * order)
            q[:, :order] = 0
            q[:, order + size :] = 0
            torch.mul(torch.softmax(scores, dim=0), real, out=q[:, order : order + size])
            return q

        q = framed_softmax(logits.view(num_labels, size))
        beliefs = [q]
        for iteration in range(iterations):
            # scores[c] = unary[c] + Σ_k M_k Q[c + shift_k], where Q[c] is column `order + c` of q
            scores = torch.addmm(unary, matrices[0], q[:, order + shifts[0] : order + shifts[0] + size])
            for k in range(1, len(shifts)):
                scores.addmm_(matrices[k], q[:, order + shifts[k] : order + shifts[k] + size])
            if iteration + 1 < iterations:
                q = framed_softmax(scores)
                beliefs.append(q)
        ctx.save_for_backward(stacked, *beliefs)
        ctx.shape = (num_labels, batch, width, order)
        return scores.view(num_labels, batch, width)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        stacked, *beliefs = ctx.saved_tensors
        num_labels, batch, width, order = ctx.shape
        size = batch * width
        matrices = stacked.view(2 * order, num_labels, num_labels)
        shifts = _shifts(order)
        # the scores' gradient, framed by zeros; two buffers, so that the frames stay zero
        framed = [grad.new_zeros(num_labels, size + 2 * order) for _ in range(2)]
        framed[(len(beliefs) - 1) % 2][:, order : order + size] = grad.reshape(num_labels, size)
        grad_unary = grad.new_zeros(num_labels, size)
        grad_matrices = grad.new_zeros(2 * order, num_labels, num_labels)
        for iteration in range(len(beliefs) - 1, -1, -1):
            g = framed[iteration % 2]
            inner = g[:, order : order + size]
            q = beliefs[iteration]
            grad_unary += inner
            # Σ_c grad[c] Q[c + shift_k]ᵀ, one small product per sentence, summed: a single
            # (L, batch · width) @ (batch · width, L) product is 10× slower with 2 threads (MKL)
            per_sentence = inner.view(num_labels, batch, width).transpose(0, 1)
            for k, shift in enumerate(shifts):
                shifted = q[:, order + shift : order + shift + size].view(num_labels, batch, width)
                grad_matrices[k] += torch.bmm(per_sentence, shifted.permute(1, 2, 0)).sum(0)
            # dQ[c] = Σ_k M_kᵀ grad[c - shift_k], then through Q = softmax(scores) ⊙ real
            dq = torch.mm(matrices[0].t(), g[:, order - shifts[0] : order - shifts[0] + size])
            for k in range(1, len(shifts)):
                dq.addmm_(matrices[k].t(), g[:, order - shifts[k] : order - shifts[k] + size])
            q_inner = q[:, order : order + size]
            dq.mul_(q_inner)
            total = dq.sum(0, keepdim=True)
            target = framed[(iteration + 1) % 2][:, order : order + size] if iteration > 0 else dq
            torch.addcmul(dq, q_inner, total, value=-1, out=target)
        # after the loop, dq holds the gradient of the first softmax's input, the logits
        grad_logits, grad_unary = dq.view(num_labels, batch, width), grad_unary.view(num_labels, batch, width)
        return grad_logits, grad_unary, grad_matrices.view(-1, num_labels), None, None, None
