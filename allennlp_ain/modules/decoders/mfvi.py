import math
from typing import List, Optional, Tuple

import torch

from allennlp_ain.modules.decoders import mean_field_kernels
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
    parallelism (versus `O(n log L)` for the exact CRF). On the CPU in float32 the softmaxes, their
    backward pass, the layout changes and the argmax run as fused kernels (`mean_field_kernels`),
    with the PyTorch operations here as reference and fallback. The computation runs with autocast
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
        return self._framed_log_probs(inference)[:, :, : inference.mask.size(1)].permute(1, 2, 0)

    def _framed_log_probs(self, inference: Inference) -> torch.Tensor:
        """`log Qᴹ` label-major and framed, `(L, batch, seq + order)`: the softmax over the labels
        runs elementwise over the positions."""
        return inference.cached("framed_log_probs", lambda: torch.log_softmax(self._framed_scores(inference), dim=0))

    def _log_likelihood(self, inference: Inference, tags: torch.Tensor) -> torch.Tensor:
        # gathered label-major from the framed log-probabilities: the gradient comes back in their
        # layout, with no transposing copy
        mask = inference.mask
        index = torch.nn.functional.pad(tags.masked_fill(~mask, 0), (0, self.order)).unsqueeze(0)
        gold = self._framed_log_probs(inference).gather(0, index)[0, :, : mask.size(1)]
        return gold.masked_fill(~mask, 0.0).sum(1)

    def _decode(self, inference: Inference) -> torch.Tensor:
        if self.constrained:
            return super()._decode(inference)
        scores = self._framed_scores(inference)
        kernels = _kernels_for(scores)
        if kernels is not None:
            return kernels.first_max(scores, inference.mask.contiguous())
        tags = first_max_label(scores)[:, : inference.mask.size(1)]
        return tags.masked_fill(~inference.mask, 0)

    def _label_major_scores(self, inference: Inference) -> torch.Tensor:
        return self._framed_scores(inference)[:, :, : inference.mask.size(1)]

    def _framed_scores(self, inference: Inference) -> torch.Tensor:
        """`qᴹ` label-major and framed, `(L, batch, seq + order)`: `[:, :, :seq]` are the scores."""
        return inference.cached("framed_scores", lambda: self._iterate(inference))

    def _iterate(self, inference: Inference) -> torch.Tensor:
        """
        The iterations, label-major: the softmax over the labels and the shifts along positions
        are then elementwise over contiguous memory (PyTorch's CPU kernels for a reduction over a
        last dimension of 17 are several times slower). Each sentence is followed by `order`
        zero positions (a frame), so that a shifted `Q` is a view. Returns the last scores
        framed, `(L, batch, seq + order)`, the frame meaningless.
        """
        order = self.order
        dtype = inference.dtype
        transitions, start, end = self.chain_parameters(dtype)
        # the message matrices [U₁ᵀ; U₁] (; Ũᵀ; Ũ) stacked, (2 · order · L, L): block 2d - 2
        # carries Q[i - d] U_d to position i, block 2d - 1 carries Q[i + d] U_dᵀ
        matrices = [transitions.t(), transitions]
        if order == 2:
            second = self.second_order_transitions.to(dtype)
            matrices += [second.t(), second]
        stacked = torch.cat(matrices, dim=0)
        if _tracing():
            return _traceable_iterations(inference.logits, inference.mask, start, end, stacked, order, self.iterations)
        # the raw logits: the eager pass zeroes padding while it lays them out label-major
        logits = inference.raw_logits.to(dtype)
        arguments = (logits, inference.mask, start, end, stacked, order, self.iterations)
        if torch.is_grad_enabled() and any(t.requires_grad for t in (logits, start, end, stacked)):
            return _MeanFieldIterations.apply(*arguments)
        return _iterations_forward(*arguments)[0]


def _tracing() -> bool:
    """Whether the iterations are being traced (ONNX export) or compiled: then the plain operations."""
    return torch.jit.is_tracing() or torch.onnx.is_in_onnx_export() or torch.compiler.is_compiling()


def _kernels_for(*tensors: torch.Tensor):
    """The fused CPU kernels for these tensors (`mean_field_kernels`), `None` when tracing or where they do not apply."""
    return None if _tracing() else mean_field_kernels.for_tensors(*tensors)


def _shifts(order: int) -> List[int]:
    """The position offset each stacked block reads Q at: -1, +1 (, -2, +2)."""
    return [sign * distance for distance in range(1, order + 1) for sign in (-1, 1)]


def _traceable_iterations(
    logits: torch.Tensor,
    mask: torch.Tensor,
    start: torch.Tensor,
    end: torch.Tensor,
    stacked: torch.Tensor,
    order: int,
    iterations: int,
) -> torch.Tensor:
    """
    The iterations as plain differentiable operations, for tracing (ONNX export) and
    `torch.compile`; `_MeanFieldIterations` computes the same, faster in eager mode. `logits`
    `(batch, seq, L)` zero at padding (`Inference.logits`); returns the framed scores
    `(L, batch, seq + order)`.
    """
    num_labels, batch = logits.size(2), logits.size(0)
    logits = torch.nn.functional.pad(logits.permute(2, 0, 1), (0, order))  # (L, batch, framed seq)
    mask = torch.nn.functional.pad(mask, (0, order))
    width = mask.size(1)
    real = mask.to(logits.dtype)  # broadcast over the labels
    # the boundary scores are unary factors, folded into the unaries once by one product:
    # start at the first token, end at each sentence's last real token (mask is left-aligned)
    first = mask & (torch.arange(width, device=mask.device) == 0)
    last = mask & ~torch.cat([mask[:, 1:], mask[:, :1]], dim=1)  # the frame wraps to a False
    boundaries = torch.stack([first, last]).to(logits.dtype).view(2, batch * width)
    unary = torch.addmm(logits.reshape(num_labels, -1), torch.stack([start, end], dim=1), boundaries)
    unary = unary.view(num_labels, batch, width)
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
    The iterations with a hand-written backward pass, from the raw logits `(batch, seq, L)` (any
    value at padding) and the mask to the framed scores `(L, batch, seq + order)`, as
    `_traceable_iterations`. One transposing pass lays the logits out label-major, zero at padding
    and in the frame (each sentence followed by `order` zero positions); the start and end scores
    are added in place at each sentence's first and last token. `Q` is kept flattened with `order`
    more zero columns in front and at the end, `(L, 2 · order + batch · width)`, so that `Q`
    shifted by up to `order` positions is a view, and each message is an `addmm` into the scores.
    Before the last iteration the scores come out of the `addmm`s multiplied by `log₂ e` (free in
    the product) and the softmax uses `exp2` (PyTorch's CPU `exp` is about three times slower).
    The backward pass is the same products transposed plus the softmax's Jacobian,
    `dscores = Q ⊙ (dQ − Σₗ Q dQ)` (zero where `Q` is masked to zero); it saves the `Q`s only and
    runs about half the kernels autograd would.
    """

    @staticmethod
    def forward(ctx, logits, mask, start, end, stacked, order, iterations):  # type: ignore[override]
        scores, beliefs = _iterations_forward(logits, mask, start, end, stacked, order, iterations)
        ctx.save_for_backward(mask, stacked, beliefs)
        ctx.shape = (*scores.shape, order)  # (L, batch, width, order)
        return scores

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        mask, stacked, beliefs = ctx.saved_tensors
        num_labels, batch, width, order = ctx.shape
        kernels = _kernels_for(grad, beliefs)
        length = width - order
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
            # Σ_c grad[c] Q[c + shift_k]ᵀ, one (L, batch · width) @ (batch · width, L) product
            for k, shift in enumerate(shifts):
                grad_matrices[k].addmm_(inner, q[:, order + shift : order + shift + size].t())
            # dQ[c] = Σ_k M_kᵀ grad[c - shift_k], then through Q = softmax(scores) ⊙ real
            dq = torch.mm(matrices[0].t(), g[:, order - shifts[0] : order - shifts[0] + size])
            for k in range(1, len(shifts)):
                dq.addmm_(matrices[k].t(), g[:, order - shifts[k] : order - shifts[k] + size])
            q_inner = q[:, order : order + size]
            target = framed[(iteration + 1) % 2][:, order : order + size] if iteration > 0 else dq
            if kernels is not None:
                kernels.softmax_backward(dq, q_inner, target)
            else:
                dq.mul_(q_inner)
                total = dq.sum(0, keepdim=True)
                torch.addcmul(dq, q_inner, total, value=-1, out=target)
        # after the loop, dq holds the gradient of the first softmax's input, the logits; the
        # unaries are the logits too, and the start and end scores at the boundaries
        grad_unary = grad_unary.view(num_labels, batch, width)
        if length > 0:
            grad_start, grad_end = _boundary_gradients(grad_unary, mask)
        else:
            grad_start, grad_end = grad.new_zeros(num_labels), grad.new_zeros(num_labels)
        framed_grad = dq.add_(grad_unary.view(num_labels, size)).view(num_labels, batch, width)
        if kernels is not None:
            grad_logits = grad.new_empty(batch, length, num_labels)
            kernels.batch_major(framed_grad, mask.contiguous(), grad_logits)
        else:
            grad_logits = torch.where(mask.unsqueeze(2), framed_grad[:, :, :length].permute(1, 2, 0), grad.new_zeros(()))
        return grad_logits, None, grad_start, grad_end, grad_matrices.view(-1, num_labels), None, None


_LOG2E = 1.0 / math.log(2.0)


def _iterations_forward(
    logits: torch.Tensor,
    mask: torch.Tensor,
    start: torch.Tensor,
    end: torch.Tensor,
    stacked: torch.Tensor,
    order: int,
    iterations: int,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """
    `_MeanFieldIterations`'s forward pass, outside autograd: the framed scores
    `(L, batch, seq + order)` and the beliefs `Q⁰ … Qᴹ⁻¹` `(M, L, order + batch · width + order)`
    that its backward pass needs. Prediction calls it directly (no autograd node to build).
    """
    batch, length, num_labels = logits.shape
    width = length + order
    size = batch * width
    matrices = stacked.view(2 * order, num_labels, num_labels)
    shifts = _shifts(order)
    kernels = _kernels_for(logits)
    # label-major, framed, zero at padding (garbage there, even inf / nan, reaches no real token)
    unary = logits.new_empty(num_labels, batch, width)
    if kernels is not None:
        mask = mask.contiguous()
        real = logits.new_empty(1, size)
        kernels.label_major(logits.contiguous(), mask, unary, real)
    else:
        unary[:, :, length:] = 0
        torch.where(mask.unsqueeze(0), logits.permute(2, 0, 1), logits.new_zeros(()), out=unary[:, :, :length])
        real = logits.new_zeros(batch, width)
        real[:, :length] = mask
        real = real.view(1, size)

    # Q⁰ … Qᴹ⁻¹, each `(L, order + size + order)`, zero in the frames: the softmaxes write the
    # inner columns of every one (zero at padding and in the sentences' frames), so only the
    # outer frames need zeroing
    beliefs = logits.new_empty(iterations, num_labels, size + 2 * order)
    beliefs[:, :, :order] = 0
    beliefs[:, :, order + size :] = 0

    def framed_softmax(scores: torch.Tensor, scale: float, q: torch.Tensor) -> None:
        """`q ← softmax(scores · scale / log₂ e) ⊙ real` inside the frames."""
        inner = q[:, order : order + size]
        if kernels is not None:
            kernels.softmax(scores, scale, inner, real.view(size))
            return
        if scale == 1.0:
            torch.sub(scores, scores.amax(0, keepdim=True), out=inner)
        else:  # (scores − max) · scale in one pass
            torch.add(scores.amax(0, keepdim=True).mul_(-scale), scores, alpha=scale, out=inner)
        inner.exp2_()
        inner.mul_(real / inner.sum(0, keepdim=True))

    # Q⁰ from the logits alone; then the unaries are the logits with the boundary scores
    framed_softmax(unary.view(num_labels, size), _LOG2E, beliefs[0])
    if kernels is not None:
        kernels.add_boundaries(unary, mask, start.contiguous(), end.contiguous())
    elif length > 0:
        _add_boundaries(unary, mask, start, end)
    unary = unary.view(num_labels, size)
    for iteration in range(iterations):
        # scores[c] = unary[c] + Σ_k M_k Q[c + shift_k], where Q[c] is column `order + c` of q;
        # in log₂ units before the last iteration
        q = beliefs[iteration]
        scale = 1.0 if iteration + 1 == iterations else _LOG2E
        view = q[:, order + shifts[0] : order + shifts[0] + size]
        scores = torch.addmm(unary, matrices[0], view, beta=scale, alpha=scale)
        for k in range(1, len(shifts)):
            scores.addmm_(matrices[k], q[:, order + shifts[k] : order + shifts[k] + size], alpha=scale)
        if iteration + 1 < iterations:
            framed_softmax(scores, 1.0, beliefs[iteration + 1])
    return scores.view(num_labels, batch, width), beliefs


def _last_index(mask: torch.Tensor, num_labels: int) -> torch.Tensor:
    """Each sentence's last token's position (0 for an empty one), `(L, batch, 1)`."""
    last = (mask.sum(1, keepdim=True) - 1).clamp_min(0)
    return last.unsqueeze(0).expand(num_labels, mask.size(0), 1)


def _add_boundaries(unary: torch.Tensor, mask: torch.Tensor, start: torch.Tensor, end: torch.Tensor) -> None:
    """Adds `start` at each non-empty sentence's first token and `end` at its last, in place, label-major."""
    nonempty = mask[:, 0].to(unary.dtype)
    unary[:, :, 0].addcmul_(start.unsqueeze(1), nonempty)
    unary.scatter_add_(2, _last_index(mask, unary.size(0)), torch.outer(end, nonempty).unsqueeze(2))


def _boundary_gradients(grad_unary: torch.Tensor, mask: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """The gradients of `start` and `end` from that of the label-major unaries `(L, batch, width)`."""
    nonempty = mask[:, 0].to(grad_unary.dtype)
    at_last = grad_unary.gather(2, _last_index(mask, grad_unary.size(0))).squeeze(2)
    return grad_unary[:, :, 0] @ nonempty, at_last @ nonempty
