"""
The decoder family: what sits on top of an encoder and turns per-token label scores into a
distribution over label sequences.

# Tensor conventions (shared by every decoder)

- `logits`: float tensor `(batch, seq, num_labels)`, the unary potentials ψᵤ(x, yᵢ).
- `mask`: bool tensor `(batch, seq)`; tokens are **left-aligned**: `mask[b, :n_b]` is true and the
  rest is padding. Padding never influences a real token, so a sentence gets the same result
  whatever else is in the batch, and whatever values (NaN and ±inf included) the logits hold at
  padded positions. A row with no token at all is an empty sentence: log-likelihood and
  log-partition 0, no tags, zero marginals, and it does not count in the loss's mean.
- `tags`: long tensor `(batch, seq)`; values at padded positions are ignored.
- `transitions[i, j]` is the score of label `j` following label `i`: index **[from, to]**.
  `start_transitions[j]` scores `j` as the first label, `end_transitions[i]` `i` as the last.
- `constraints`: an optional list of allowed `(from, to)` pairs in AllenNLP's convention
  (`allennlp.modules.conditional_random_field.allowed_transitions`): label ids `0..L-1`,
  `L` stands for START and `L + 1` for END. `allennlp_ain.tag_schemes.allowed_transitions` builds
  them from label strings; decoders see only ids.
- **Precision**: float64 input is computed (and returned) in float64; float32 in float32; half
  precision (float16, bfloat16) in float32, with autocast disabled, so that the dynamic programs
  and the mean-field iterations cannot overflow. Parameters are cast to the computation's dtype.
"""
import contextlib
from typing import Any, Callable, ContextManager, Dict, List, Optional, Tuple

import torch
from allennlp.common import Registrable

from allennlp_ain.modules.decoders.constraints import constraint_masks


def compute_dtype(tensor: torch.Tensor) -> torch.dtype:
    """float64 stays float64; float32 and every half-precision type compute in float32."""
    return torch.float64 if tensor.dtype == torch.float64 else torch.float32


def autocast_disabled(tensor: torch.Tensor) -> ContextManager:
    """A context that turns autocast off on `tensor`'s device, where it is on (entering
    `torch.autocast` costs microseconds per call, so it is skipped when there is nothing to undo)."""
    device_type = tensor.device.type
    if torch.is_autocast_enabled(device_type):
        return torch.autocast(device_type, enabled=False)
    return contextlib.nullcontext()


def finite(scores: torch.Tensor, length: int) -> torch.Tensor:
    """
    `scores` with NaN and ±inf, and magnitudes that could overflow in a sum of scores over `length`
    positions, replaced by finite bounds; for decoding under hard constraints: every allowed path
    then scores above the `-inf` of every disallowed one, whatever the scores.
    """
    bound = torch.finfo(scores.dtype).max / (8 * (length + 2))
    return scores.clamp(-bound, bound).nan_to_num(-bound)


class SequenceDecoder(torch.nn.Module, Registrable):
    """
    Base class of the decoders. A config names one as `"decoder": {"type": ...}`; the tagging
    head supplies `num_labels` (and `constraints`, when it constrains decoding). The default
    implementation, used when a config names none, is `"crf"`.

    # The contract

    `infer(logits, mask)` returns an `Inference`: the decoder applied to one batch, which computes
    each quantity at most once (the mean-field iterations, the CRF's forward recursion) however
    many of them a caller asks for:

    - `log_likelihood(tags)`: `log P(tags | x)` per sentence, `(batch,)`, differentiable. For an
      approximate decoder it is the log-probability under its own approximation (stated by each);
    - `paths_log_likelihood(paths)`: the same for `k` label sequences per sentence, `paths`
      `(batch, k, seq)` → `(batch, k)`, differentiable; what is shared by the paths (the CRF's
      partition function, the mean-field iterations) is computed once, not `k` times;
    - `tags`: the decoded label ids `(batch, seq)` long, zero at padding;
    - `log_marginals`: per-token `log P(yᵢ = l | x)` `(batch, seq, L)`, differentiable, zero at
      padding (callers mask); `marginals`: their exponential, zero at padding;
    - `log_partition`: `log Z(x)` `(batch,)`, only where `has_partition`;
    - `topk(k)`: the `k` best label sequences `(batch, k, seq)` and their unnormalised scores
      `(batch, k)`, best first, only where `has_topk`.

    The decoder's methods of the same names (`log_likelihood(logits, tags, mask)`,
    `decode(logits, mask)`, `marginals`, `log_marginals`, `log_partition`, `topk(logits, mask, k)`)
    are one-call shortcuts. `loss(logits, tags, mask)` is defined once (`Inference.loss`), as the
    negative mean of `log_likelihood` over the batch's non-empty sentences.

    # Capabilities

    Class attributes that callers read instead of probing: `exact_marginals` (the marginals are
    the model's exact `P(yᵢ | x)`), `has_partition` (`log_partition` is defined), `has_topk`
    (`topk` is defined) and `scores_transitions` (the distribution scores label transitions, so
    that a loss on whole label sequences can shape more than per-token scores: the `crf` and
    `mfvi` decoders). What a decoder lacks raises `NotImplementedError` naming the decoder.

    Subclasses implement `_log_likelihood(inference, tags)`, `_decode(inference)` and
    `_log_marginals(inference)` (and `_log_partition`, `_topk` with their capability), reading and
    filling the inference's cache.

    # Parameters

    num_labels : `int`
        The size of the label set `L`.
    constraints : `List[Tuple[int, int]]`, optional (default = `None`)
        Allowed `(from, to)` label pairs, START = `L`, END = `L + 1`. Disallowed transitions get a
        score of `-10000` (not `-inf`, so that gradients and half precision stay finite).
    """

    default_implementation = "crf"

    exact_marginals: bool = False
    has_partition: bool = False
    has_topk: bool = False
    scores_transitions: bool = False

    def __init__(self, num_labels: int, constraints: Optional[List[Tuple[int, int]]] = None) -> None:
        super().__init__()
        if num_labels < 1:
            raise ValueError(f"{type(self).__name__}: num_labels must be positive, got {num_labels}")
        self.num_labels = num_labels
        if constraints is None:
            self.register_buffer("_constraint_penalty", None, persistent=False)
        else:
            transition, start, end = constraint_masks(num_labels, constraints)
            penalty = torch.cat([transition, start.unsqueeze(0), end.unsqueeze(0)], dim=0)
            # rows 0..L-1: [from, to]; row L: start; row L + 1: end. 0 where allowed.
            self.register_buffer("_constraint_penalty", (~penalty).float() * -10000.0, persistent=False)

    @property
    def constrained(self) -> bool:
        return self._constraint_penalty is not None

    def constraint_penalties(
        self, dtype: torch.dtype = torch.float32
    ) -> Optional[Tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """`(transition (L, L), start (L,), end (L,))` additive penalties in `dtype`, or `None`."""
        if self._constraint_penalty is None:
            return None
        n = self.num_labels
        p = self._constraint_penalty.to(dtype)
        return p[:n], p[n], p[n + 1]

    def hard_constraint_penalties(
        self, dtype: torch.dtype = torch.float32
    ) -> Optional[Tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """
        As `constraint_penalties`, with `-inf` in place of `-10000`: for decoding, where every
        disallowed path must lose to every allowed one whatever the other scores (a finite penalty
        is outweighed by large enough scores).
        """
        penalties = self.constraint_penalties(dtype)
        if penalties is None:
            return None
        return tuple(penalty.masked_fill(penalty < 0, float("-inf")) for penalty in penalties)  # type: ignore[return-value]

    def with_constraints(
        self, transitions: torch.Tensor, start: torch.Tensor, end: torch.Tensor, dtype: Optional[torch.dtype] = None
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """
        `(transitions, start, end)` in `dtype` (default: the parameters' own, at least float32),
        plus the constraint penalties if any.
        """
        dtype = dtype or compute_dtype(transitions)
        transitions, start, end = transitions.to(dtype), start.to(dtype), end.to(dtype)
        penalties = self.constraint_penalties(dtype)
        if penalties is None:
            return transitions, start, end
        return transitions + penalties[0], start + penalties[1], end + penalties[2]

    # The one-call API, defined once.

    def infer(self, logits: torch.Tensor, mask: torch.Tensor) -> "Inference":
        """This decoder applied to one batch; see `Inference`."""
        self._check(logits, mask)
        return Inference(self, logits, mask)

    def log_likelihood(self, logits: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.infer(logits, mask).log_likelihood(tags)

    def loss(self, logits: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The mean over non-empty sentences of the negative log-likelihood of `tags`."""
        return self.infer(logits, mask).loss(tags)

    def decode(self, logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.infer(logits, mask).tags

    def marginals(self, logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.infer(logits, mask).marginals

    def log_marginals(self, logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.infer(logits, mask).log_marginals

    def log_partition(self, logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.infer(logits, mask).log_partition

    def topk(self, logits: torch.Tensor, mask: torch.Tensor, k: int) -> Tuple[torch.Tensor, torch.Tensor]:
        return self.infer(logits, mask).topk(k)

    # What a decoder implements (see the class docstring).

    def _log_likelihood(self, inference: "Inference", tags: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _paths_log_likelihood(self, inference: "Inference", paths: torch.Tensor) -> torch.Tensor:
        """`log P` of each of `paths` `(batch, k, seq)`, `(batch, k)`; a decoder may vectorise it."""
        return torch.stack([self._log_likelihood(inference, paths[:, rank]) for rank in range(paths.size(1))], dim=1)

    def _decode(self, inference: "Inference") -> torch.Tensor:
        raise NotImplementedError

    def _log_marginals(self, inference: "Inference") -> torch.Tensor:
        raise NotImplementedError

    def _log_partition(self, inference: "Inference") -> torch.Tensor:
        raise NotImplementedError(
            f"The {type(self).__name__} decoder has no tractable partition function (has_partition is "
            "false); use the exact 'crf' decoder for log_partition."
        )

    def _topk(self, inference: "Inference", k: int) -> Tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError(
            f"The {type(self).__name__} decoder does not define k-best label sequences (has_topk is "
            "false); use the exact 'crf' decoder for topk."
        )

    def _check(self, logits: torch.Tensor, mask: torch.Tensor) -> None:
        """Shape checks only: nothing here reads tensor values (no host synchronisation)."""
        if logits.dim() != 3 or logits.size(-1) != self.num_labels:
            raise ValueError(
                f"{type(self).__name__}: logits must have shape (batch, seq, {self.num_labels}), "
                f"got {tuple(logits.shape)}"
            )
        if mask.shape != logits.shape[:2]:
            raise ValueError(
                f"{type(self).__name__}: mask shape {tuple(mask.shape)} does not match logits "
                f"{tuple(logits.shape[:2])}"
            )


class Inference:
    """
    One decoder applied to one batch (`SequenceDecoder.infer`). Every quantity is computed on
    first use and kept, so evaluation asks for the tags, the marginals and the loss of a batch and
    runs each of the decoder's algorithms once. `logits` are the `raw_logits` in the computation's
    dtype (`compute_dtype`), zero at padded positions (so that NaN or inf there reaches neither a
    value nor a gradient), made on first use: a decoder that lays the logits out its own way (`mfvi`)
    zeroes the padding while it does, and never asks for them. Everything runs with autocast
    disabled.
    """

    def __init__(self, decoder: SequenceDecoder, logits: torch.Tensor, mask: torch.Tensor) -> None:
        self.decoder = decoder
        self.dtype = compute_dtype(logits)
        self.raw_logits = logits
        self.mask = mask
        # left-aligned tokens: a row is a non-empty sentence iff its first position is a token
        self.nonempty = mask[:, 0] if mask.size(1) > 0 else mask.new_zeros(mask.size(0))
        self._cache: Dict[str, Any] = {}

    @property
    def logits(self) -> torch.Tensor:
        """The logits in `dtype`, zero at padded positions `(batch, seq, L)`."""
        return self.cached("logits", lambda: self.raw_logits.to(self.dtype).masked_fill(~self.mask.unsqueeze(2), 0.0))

    def cached(self, name: str, compute: Callable[[], Any]) -> Any:
        """`compute()` the first time `name` is asked for, with autocast disabled; then the kept value."""
        if name not in self._cache:
            with autocast_disabled(self.raw_logits):
                self._cache[name] = compute()
        return self._cache[name]

    def log_likelihood(self, tags: torch.Tensor) -> torch.Tensor:
        """`log P(tags | x)` per sentence, `(batch,)`."""
        with autocast_disabled(self.raw_logits):
            return self.decoder._log_likelihood(self, tags).masked_fill(~self.nonempty, 0.0)

    def paths_log_likelihood(self, paths: torch.Tensor) -> torch.Tensor:
        """`log P(paths[:, r] | x)` for `k` label sequences per sentence `(batch, k, seq)`: `(batch, k)`."""
        if paths.dim() != 3 or paths.size(0) != self.mask.size(0) or paths.size(2) != self.mask.size(1):
            raise ValueError(
                f"paths must have shape (batch, k, seq) = ({self.mask.size(0)}, k, {self.mask.size(1)}), "
                f"got {tuple(paths.shape)}"
            )
        with autocast_disabled(self.raw_logits):
            log_likelihood = self.decoder._paths_log_likelihood(self, paths)
        return log_likelihood.masked_fill(~self.nonempty.unsqueeze(1), 0.0)

    def loss(self, tags: torch.Tensor) -> torch.Tensor:
        """The negative mean of `log_likelihood(tags)` over the non-empty sentences (0 for none)."""
        return -self.log_likelihood(tags).sum() / self.nonempty.sum().clamp_min(1)

    @property
    def tags(self) -> torch.Tensor:
        return self.cached("tags", lambda: self.decoder._decode(self))

    @property
    def log_marginals(self) -> torch.Tensor:
        return self.cached("log_marginals", lambda: self.decoder._log_marginals(self))

    @property
    def marginals(self) -> torch.Tensor:
        return self.cached("marginals", lambda: self.log_marginals.exp() * self.mask.unsqueeze(2))

    @property
    def log_partition(self) -> torch.Tensor:
        return self.cached("log_partition", lambda: self.decoder._log_partition(self).masked_fill(~self.nonempty, 0.0))

    def topk(self, k: int) -> Tuple[torch.Tensor, torch.Tensor]:
        return self.cached(f"topk_{k}", lambda: self.decoder._topk(self, k))
