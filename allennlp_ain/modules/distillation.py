"""
Structure-level knowledge distillation for sequence labelling (Wang et al., 2020, "Structure-Level
Knowledge Distillation For Multilingual Sequence Labeling"): the losses that make a student
decoder's distribution over label sequences follow a teacher's, given the teacher's outputs as
tensors. The tagging head adds them to its gold loss (`TaggingHead`'s `distillation`); the teacher
never runs here.

# Notation

`B` sentences, `n_b` real tokens in sentence `b`, `L` labels, `T` the temperature, `K` teacher
paths per sentence, `p_s` the student's distribution over label sequences (its decoder's
`log_likelihood`), `q_s,i` / `q_t,i` the student's / teacher's per-token label distributions.
Every loss is a sum over each sentence's real tokens or paths, averaged over the batch's non-empty
sentences (`B'`), like the gold loss (`Inference.loss`) and like the official code's
sentence-level losses:

- `emission`: `T² · (1/B') Σ_b Σ_{i ≤ n_b} KL(softmax(e^t_i / T) ‖ softmax(e^s_i / T))`, `e` the
  emission logits (the decoders' unary potentials `ψᵤ`).
- `posterior`: the same on the per-token log-marginals `a_i = log q_i` (for a CRF, `α + β` up to a
  per-token constant, which a softmax ignores; the temperature applies to them as in the official
  code: `softmax(a / T)` is `q^{1/T}` renormalised).
- `top_k`: `(1/B') Σ_b (1/K_b) Σ_k −log p_s(ŷ_bk)`, the teacher's `K` best paths as pseudo-gold
  with equal weights (`K_b` = the sentence's real paths: a sentence with fewer than `K` label
  sequences has `-inf` scores in its surplus ranks, which count for nothing). `K = 1` by default.
- `top_wk`: `(1/B') Σ_b Σ_k w_bk · (−log p_s(ŷ_bk))`, `w_b = softmax` of the teacher's `K` path
  scores (renormalised among the `K`; unnormalised scores or log-probabilities give the same
  weights). `K = 10` by default. With every path (`K = Lⁿ`) the weights are the teacher's exact
  `p_t`, and this is the structural cross-entropy `−Σ_y p_t(y) log p_s(y)` of the paper.
- `posterior+top_wk`: their sum.

The caller combines them as `λ · KD + (1 − λ) · gold NLL` (`Distillation.combine`); `λ`
(`interpolation`) is a plain attribute that a trainer callback may set every epoch (teacher
annealing, `λ_e = max(0, 1 − a·e)`).

# Students

| loss | `crf` | `mfvi` (AIN) | `maxent` |
|---|---|---|---|
| `emission` | yes | yes (its unary potentials) | yes |
| `posterior` | yes (exact marginals) | yes (`Qᴹ`) | yes (the softmax) |
| `top_k`, `top_wk`, `posterior+top_wk` | yes (exact `log p_s`) | yes (`Σᵢ log Qᵢᴹ(yᵢ)`) | no |

The path losses need a student that `scores_transitions` (a declared decoder capability).

**What top-k means for an AIN student.** AIN's distribution is factorized,
`Q(y) = Πᵢ Qᵢᴹ(yᵢ)`, and its `log_likelihood` is `Σᵢ log Qᵢᴹ(yᵢ)`, the log-probability under the
mean-field approximation, not under the CRF it approximates (whose partition function it never
computes). So for an AIN student

    −Σ_k w_k log Q(ŷ_k) = −Σᵢ Σ_l m̂ᵢ(l) log Qᵢᴹ(l),   m̂ᵢ(l) = Σ_k w_k [ŷ_k,i = l]:

a per-token cross-entropy against the label "votes" of the teacher's weighted k-best list. The
k-best list's joint structure (which labels occur together in one path) is lost, as `Q` cannot
represent it; the transitions still learn from it, through the mean-field messages that produce
`Qᴹ`. With `K = 1` it is AIN's own training loss with the teacher's best path as gold; with every
path and exact weights `m̂` is the teacher's exact marginal, and top-wk equals posterior
distillation at `T = 1` plus the teacher's per-token entropies (a constant). A MaxEnt student has
no transitions, so a path loss would only be a token-level loss on the votes, which posterior
distillation gives with the exact marginals: it is refused.

# Tensors

Teacher signals are tensors in the student's label order (the caller maps a teacher's labels to
the student's; the teacher's label set must be the student's), with the student's `mask`
(left-aligned, see `SequenceDecoder`); values at padded positions and ranks are ignored (NaN and
±inf included), and no gradient reaches them:

- `logits` `(batch, seq, L)`: the teacher's emission logits;
- `log_marginals` `(batch, seq, L)`: the teacher's per-token log-marginals (any per-token
  constant may be added: `α + β` will do);
- `topk_tags` `(batch, K, seq)`: the teacher's best label sequences, best first;
- `topk_scores` `(batch, K)`: their scores, `-inf` for a rank beyond the sentence's number of label
  sequences (as `SequenceDecoder.topk` gives them); needed by `top_wk`; `top_k` without them takes
  every rank as a real path.

A distillation with `k` uses the teacher's first `k` ranks, so one set of teacher paths serves
`top_k` with `K = 1` and `top_wk` with `K = 10`. Everything is vectorised over the batch, the
tokens and the paths; it runs in the student inference's dtype with autocast disabled.
"""
from typing import NamedTuple, Optional, Tuple

import torch
from allennlp.common import FromParams
from allennlp.common.checks import ConfigurationError

from allennlp_ain.modules.decoders.sequence_decoder import Inference, SequenceDecoder, autocast_disabled

LOSSES = ("emission", "top_k", "top_wk", "posterior", "posterior+top_wk")

# the losses on the teacher's k best paths, and their default k
_PATH_LOSSES = ("top_k", "top_wk", "posterior+top_wk")
_DEFAULT_K = {"top_k": 1, "top_wk": 10, "posterior+top_wk": 10}


class TeacherSignals(NamedTuple):
    """A teacher's outputs for one batch, as tensors (see the module docstring); `None` = not given."""

    logits: Optional[torch.Tensor] = None
    log_marginals: Optional[torch.Tensor] = None
    topk_tags: Optional[torch.Tensor] = None
    topk_scores: Optional[torch.Tensor] = None

    @property
    def given(self) -> bool:
        """Whether any signal is given."""
        return any(signal is not None for signal in self)

    def padded_to(self, length: int) -> "TeacherSignals":
        """
        The signals with their positions padded (zeros, tag 0) to `length`: a batch's tokens may be
        padded beyond its longest sentence (an indexer's `token_min_padding_length`), its teacher
        fields never are. Padding is masked out of every loss.
        """

        def pad(signal: Optional[torch.Tensor], dim: int) -> Optional[torch.Tensor]:
            if signal is None or signal.size(dim) >= length:
                return signal
            shape = list(signal.shape)
            shape[dim] = length - signal.size(dim)
            return torch.cat([signal, signal.new_zeros(shape)], dim=dim)

        return TeacherSignals(pad(self.logits, 1), pad(self.log_marginals, 1), pad(self.topk_tags, 2), self.topk_scores)


def supported_losses(decoder: SequenceDecoder) -> Tuple[str, ...]:
    """The distillation losses that `decoder` can be a student of (see the module docstring)."""
    if decoder.scores_transitions:
        return LOSSES
    return tuple(loss for loss in LOSSES if loss not in _PATH_LOSSES)


def tempered_kl(
    student_scores: torch.Tensor, teacher_scores: torch.Tensor, mask: torch.Tensor, temperature: float = 1.0
) -> torch.Tensor:
    """
    `T² · Σ_{i ≤ n_b} KL(softmax(t_i / T) ‖ softmax(s_i / T))` per sentence, `(batch,)`, for
    per-token scores `(batch, seq, L)` (logits or log-probabilities). Padded positions contribute
    nothing, whatever they hold; the teacher gets no gradient. The KL of each token is `≥ 0`, and
    `0` exactly where the two tempered softmaxes agree.
    """
    token = mask.unsqueeze(2)
    teacher = teacher_scores.detach().to(student_scores.dtype).masked_fill(~token, 0.0)
    student = student_scores.masked_fill(~token, 0.0)
    teacher_log_probs = torch.log_softmax(teacher / temperature, dim=-1)
    student_log_probs = torch.log_softmax(student / temperature, dim=-1)
    teacher_probs = teacher_log_probs.exp()
    # a label the teacher gives probability 0 (a -inf score) contributes 0, not 0 · (-inf - x)
    terms = torch.where(teacher_probs > 0, teacher_probs * (teacher_log_probs - student_log_probs), 0.0)
    return terms.masked_fill(~token, 0.0).sum((1, 2)) * temperature**2


def path_weights(
    scores: Optional[torch.Tensor], k: int, weighted: bool, batch: int, device: torch.device
) -> torch.Tensor:
    """
    The weight of each of the teacher's first `k` paths, `(batch, k)`, summing to 1 per sentence
    (0 for a rank whose score is `-inf`): `softmax(scores)` when `weighted`, else equal among the
    real ranks (all `k` ranks when `scores` is `None`).
    """
    if scores is None:
        if weighted:
            raise ValueError("weighted paths (top_wk) need the teacher's path scores")
        return torch.full((batch, k), 1.0 / k, device=device)
    real = scores > float("-inf")
    if weighted:
        # a sentence whose ranks are all -inf (empty) would give NaN; its weights are 0 instead
        weights = torch.softmax(scores.masked_fill(~real, float("-inf")), dim=-1)
        return weights.nan_to_num(0.0)
    return real.to(scores.dtype) / real.sum(-1, keepdim=True).clamp_min(1)


def path_cross_entropy(inference: Inference, paths: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """
    `−Σ_k w_k log p_s(paths[:, k])` per sentence, `(batch,)`, with the student's
    `paths_log_likelihood` (one partition function, or one mean-field run, for all paths). Ranks
    of weight 0 contribute nothing (their paths may be anything).
    """
    # label 0 in place of the paths of weight 0 (out-of-range ids there must not reach a gather)
    paths = paths.long().masked_fill(weights.unsqueeze(2) == 0, 0)
    log_likelihood = inference.paths_log_likelihood(paths)
    weights = weights.detach().to(log_likelihood.dtype)
    return -torch.where(weights > 0, weights * log_likelihood, 0.0).sum(-1)


class Distillation(FromParams):
    """
    One distillation loss and its settings, for a tagging head (see the module docstring for the
    losses and which students support which). `per_sentence(inference, teacher)` gives the KD term
    of each sentence, `loss(inference, teacher)` their mean over the non-empty sentences, and
    `combine(kd, gold)` the head's loss `λ · KD + (1 − λ) · gold`.

    `interpolation` (`λ`) is a plain float attribute: a trainer callback may set it every epoch
    (teacher annealing); it is not saved with the model's weights. The configured `loss` is kept
    as `loss_name`; `needs` names the `TeacherSignals` fields it reads.

    # Parameters

    loss : `str`
        One of `"emission"`, `"top_k"`, `"top_wk"`, `"posterior"`, `"posterior+top_wk"`.
    interpolation : `float`, optional (default = `0.5`)
        `λ` in `λ · KD + (1 − λ) · gold NLL`, in `[0, 1]` (the official code: 0.5, or annealed).
    temperature : `float`, optional (default = `1.0`)
        `T` of `emission` and `posterior` (positive); the paper's posterior distillation uses 2.25,
        4 is reported better. The path losses do not use it.
    k : `int`, optional (default = `1` for `top_k`, `10` for `top_wk` and `posterior+top_wk`)
        How many of the teacher's best paths the path losses use (the first `k` given). Only for
        the losses with paths.
    """

    def __init__(
        self, loss: str, interpolation: float = 0.5, temperature: float = 1.0, k: Optional[int] = None
    ) -> None:
        if loss not in LOSSES:
            raise ConfigurationError(f"distillation loss must be one of {', '.join(LOSSES)}; got {loss!r}")
        if not 0.0 <= interpolation <= 1.0:
            raise ConfigurationError(f"distillation interpolation (λ) must be in [0, 1], got {interpolation}")
        if not temperature > 0:
            raise ConfigurationError(f"distillation temperature must be positive, got {temperature}")
        if k is not None and loss not in _PATH_LOSSES:
            raise ConfigurationError(f"distillation k is for the path losses ({', '.join(_PATH_LOSSES)}), not {loss!r}")
        if k is not None and k < 1:
            raise ConfigurationError(f"distillation k must be at least 1, got {k}")
        self.loss_name = loss
        self.interpolation = float(interpolation)
        self.temperature = float(temperature)
        self.k: Optional[int] = k if k is not None else _DEFAULT_K.get(loss)

    @property
    def needs(self) -> Tuple[str, ...]:
        """The `TeacherSignals` fields this loss reads (`topk_scores` only where it weights paths)."""
        needs = {
            "emission": ("logits",),
            "posterior": ("log_marginals",),
            "top_k": ("topk_tags",),
            "top_wk": ("topk_tags", "topk_scores"),
            "posterior+top_wk": ("log_marginals", "topk_tags", "topk_scores"),
        }
        return needs[self.loss_name]

    def check(self, decoder: SequenceDecoder) -> None:
        """A `ConfigurationError` unless `decoder` can be a student of this loss."""
        if self.loss_name not in supported_losses(decoder):
            raise ConfigurationError(
                f"the {type(decoder).__name__} decoder cannot be a student of {self.loss_name!r} distillation: "
                f"it supports {', '.join(supported_losses(decoder))}. The path losses need a decoder that "
                "scores label transitions (crf, mfvi)."
            )

    def per_sentence(self, inference: Inference, teacher: TeacherSignals) -> torch.Tensor:
        """The KD term of each sentence, `(batch,)`, 0 for an empty one."""
        self.check(inference.decoder)
        self._check_signals(inference, teacher)
        with autocast_disabled(inference.logits):
            total = inference.logits.new_zeros(inference.mask.size(0))
            if self.loss_name == "emission":
                total = total + tempered_kl(inference.logits, teacher.logits, inference.mask, self.temperature)
            if self.loss_name in ("posterior", "posterior+top_wk"):
                total = total + tempered_kl(
                    inference.log_marginals, teacher.log_marginals, inference.mask, self.temperature
                )
            if self.loss_name in _PATH_LOSSES:
                k = self.k
                paths = teacher.topk_tags[:, :k]
                scores = None if teacher.topk_scores is None else teacher.topk_scores[:, :k].detach().to(total.dtype)
                weights = path_weights(scores, k, self.loss_name != "top_k", paths.size(0), paths.device)
                total = total + path_cross_entropy(inference, paths, weights)
            return total.masked_fill(~inference.nonempty, 0.0)

    def loss(self, inference: Inference, teacher: TeacherSignals) -> torch.Tensor:
        """The KD term: `per_sentence` averaged over the non-empty sentences (0 for none)."""
        return self.per_sentence(inference, teacher).sum() / inference.nonempty.sum().clamp_min(1)

    def combine(self, kd: torch.Tensor, gold: torch.Tensor) -> torch.Tensor:
        """`λ · kd + (1 − λ) · gold`."""
        return self.interpolation * kd + (1.0 - self.interpolation) * gold

    def _check_signals(self, inference: Inference, teacher: TeacherSignals) -> None:
        missing = [name for name in self.needs if getattr(teacher, name) is None]
        if missing:
            raise ValueError(
                f"{self.loss_name!r} distillation needs the teacher's {', '.join(missing)} "
                f"(batch fields {', '.join('teacher_' + name for name in missing)})"
            )
        batch, length, num_labels = inference.logits.shape
        for name in ("logits", "log_marginals"):
            signal = getattr(teacher, name)
            if signal is not None and name in self.needs and tuple(signal.shape) != (batch, length, num_labels):
                raise ValueError(
                    f"teacher {name} must have the student's shape (batch, seq, labels) = "
                    f"{(batch, length, num_labels)}, got {tuple(signal.shape)}: does the teacher share the "
                    "student's label set and tokens?"
                )
        if self.loss_name in _PATH_LOSSES:
            tags, scores = teacher.topk_tags, teacher.topk_scores
            if tags.dim() != 3 or tags.size(0) != batch or tags.size(2) != length:
                raise ValueError(
                    f"teacher topk_tags must have shape (batch, K, seq) = ({batch}, K, {length}), "
                    f"got {tuple(tags.shape)}"
                )
            if tags.size(1) < self.k:
                raise ValueError(
                    f"the teacher gives {tags.size(1)} paths per sentence; this distillation uses k = {self.k}"
                )
            if scores is not None and tuple(scores.shape) != tuple(tags.shape[:2]):
                raise ValueError(
                    f"teacher topk_scores must have shape {tuple(tags.shape[:2])}, got {tuple(scores.shape)}"
                )
