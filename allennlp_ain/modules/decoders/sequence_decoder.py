"""
The decoder family: what sits on top of an encoder and turns per-token label scores into a
distribution over label sequences.

# Tensor conventions (shared by every decoder)

- `logits`: float tensor `(batch, seq, num_labels)`, the unary potentials ψᵤ(x, yᵢ).
- `mask`: bool tensor `(batch, seq)`; tokens are **left-aligned**: `mask[b, :n_b]` is true and the
  rest is padding. Every sequence has at least one token. Padding never influences a real token,
  so a sentence gets the same result whatever else is in the batch.
- `tags`: long tensor `(batch, seq)`; values at padded positions are ignored.
- `transitions[i, j]` is the score of label `j` following label `i`: index **[from, to]**.
  `start_transitions[j]` scores `j` as the first label, `end_transitions[i]` `i` as the last.
- `constraints`: an optional list of allowed `(from, to)` pairs in AllenNLP's convention
  (`allennlp.modules.conditional_random_field.allowed_transitions`): label ids `0..L-1`,
  `L` stands for START and `L + 1` for END. See `allennlp_ain.modules.decoders.constraints`.
"""
from typing import List, Optional, Tuple

import torch
from allennlp.common import Registrable

from allennlp_ain.modules.decoders.constraints import constraint_masks


class SequenceDecoder(torch.nn.Module, Registrable):
    """
    Base class of the decoders. A config names one as `"decoder": {"type": ...}`; the
    `ain_tagger` model supplies `num_labels` (and `constraints`, when it constrains decoding).

    Every decoder offers:

    - `loss(logits, tags, mask)`: the mean over sentences of the negative log-likelihood of `tags`;
    - `decode(logits, mask)`: the best tags, `(batch, seq)` long, zero at padding;
    - `marginals(logits, mask)`: per-token label probabilities `(batch, seq, num_labels)`, zero at
      padding. Whether they are exact is stated by each decoder.

    Exact structured decoders also offer `log_partition(logits, mask)` and
    `topk(logits, mask, k)`; the others raise `NotImplementedError` naming the decoder.

    # Parameters

    num_labels : `int`
        The size of the label set `L`.
    constraints : `List[Tuple[int, int]]`, optional (default = `None`)
        Allowed `(from, to)` label pairs, START = `L`, END = `L + 1`. Disallowed transitions get a
        score of `-10000` (not `-inf`, so that gradients and half precision stay finite).
    """

    default_implementation = "crf"

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

    def constraint_penalties(self) -> Optional[Tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """`(transition (L, L), start (L,), end (L,))` additive penalties, or `None`."""
        if self._constraint_penalty is None:
            return None
        n = self.num_labels
        p = self._constraint_penalty
        return p[:n], p[n], p[n + 1]

    def with_constraints(
        self, transitions: torch.Tensor, start: torch.Tensor, end: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """`(transitions, start, end)` in float32, plus the constraint penalties if any."""
        transitions, start, end = transitions.float(), start.float(), end.float()
        penalties = self.constraint_penalties()
        if penalties is None:
            return transitions, start, end
        return transitions + penalties[0], start + penalties[1], end + penalties[2]

    def loss(self, logits: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def decode(self, logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def marginals(self, logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def log_partition(self, logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(
            f"The {type(self).__name__} decoder has no tractable partition function; "
            "use the exact 'crf' decoder for log_partition."
        )

    def topk(self, logits: torch.Tensor, mask: torch.Tensor, k: int) -> Tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError(
            f"The {type(self).__name__} decoder does not define k-best label sequences; "
            "use the exact 'crf' decoder for topk."
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
