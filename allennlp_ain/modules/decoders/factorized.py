"""The base of the decoders whose distribution over label sequences is a product of per-token softmaxes."""
import logging
from typing import List, Optional, Tuple

import torch
from allennlp.common.checks import ConfigurationError

from allennlp_ain.modules.decoders.linear_chain import viterbi
from allennlp_ain.modules.decoders.sequence_decoder import Inference, SequenceDecoder, finite
from allennlp_ain.modules.decoders.span_repair import SpanLabels, SpanRepair

logger = logging.getLogger(__name__)

VALID_DECODINGS = ("parallel", "viterbi")


class FactorizedDecoder(SequenceDecoder):
    """
    A decoder whose distribution is factorized: `Q(y) = Πᵢ softmax(sᵢ)[yᵢ]` for token scores `s`
    `(batch, seq, L)` that each subclass defines (`token_scores`): the logits themselves for
    `maxent`, the mean-field scores `qᴹ` for `mfvi`. Given them, everything is the same:

    - `log_likelihood`: `Σᵢ log softmax(sᵢ)[yᵢ]` over each sentence's real tokens (and
      `paths_log_likelihood` for k paths per sentence, by one gather);
    - `decode`: per-position `argmax sᵢ`, zero at padding (nothing sequential). With `constraints`
      the output is always valid under them (start, every transition, end), whatever the scores,
      in one of two ways (`valid_decoding`):
        - `"parallel"` (the default; needs the label set's `span_labels`, which the tagging head
          supplies for span encodings): the argmax, repaired in parallel over positions by the rule
          of `allennlp_ain.modules.decoders.span_repair` (equal to the argmax wherever that is
          valid; no loop over positions; exports);
        - `"viterbi"` (and whenever `span_labels` is missing): the best sequence of per-token
          log-probabilities that uses only allowed transitions (Viterbi with 0 / -inf transition
          scores), exact, at the price of one sequential pass over the positions.
      Constraints change decoding only: the distribution `Q`, its loss and its marginals are those
      of the unconstrained decoder;
    - `log_marginals`: `log softmax(sᵢ)`, zero at padding;
    - no partition function and no k-best paths.

    # Parameters

    num_labels : `int`
        The size of the label set `L`.
    constraints : `List[Tuple[int, int]]`, optional (default = `None`)
        Allowed `(from, to)` label pairs, START = `L`, END = `L + 1`. See `SequenceDecoder`.
    span_labels : `SpanLabels`, optional (default = `None`)
        The span structure of the label set (supplied by the tagging head with the constraints).
    valid_decoding : `str`, optional (default = `"parallel"`)
        How constrained decoding finds a valid sequence: `"parallel"` or `"viterbi"` (above).
    """

    def __init__(
        self,
        num_labels: int,
        constraints: Optional[List[Tuple[int, int]]] = None,
        span_labels: Optional[SpanLabels] = None,
        valid_decoding: str = "parallel",
    ) -> None:
        super().__init__(num_labels, constraints)
        if valid_decoding not in VALID_DECODINGS:
            raise ConfigurationError(
                f"{type(self).__name__}: valid_decoding must be one of {', '.join(VALID_DECODINGS)}, got {valid_decoding!r}"
            )
        self.valid_decoding = valid_decoding
        self.span_repair: Optional[SpanRepair] = None
        if constraints is not None and span_labels is not None and valid_decoding == "parallel":
            if len(span_labels.types) != num_labels:
                raise ValueError(f"{type(self).__name__}: span_labels describe {len(span_labels.types)} labels, not {num_labels}")
            if span_labels.complete:
                self.span_repair = SpanRepair(span_labels)
            else:
                logger.warning(
                    "%s: no label type can label every span shape (no O label), so constrained decoding "
                    "uses the sequential Viterbi pass",
                    type(self).__name__,
                )

    def token_scores(self, inference: Inference) -> torch.Tensor:
        """The token scores `s` `(batch, seq, L)` in the inference's dtype; meaningless at padding."""
        raise NotImplementedError

    def _scores(self, inference: Inference) -> torch.Tensor:
        return inference.cached("token_scores", lambda: self.token_scores(inference))

    def _label_major_scores(self, inference: Inference) -> torch.Tensor:
        """The token scores label-major, `(L, batch, seq)` (any strides), for the parallel valid decoding."""
        return self._scores(inference).permute(2, 0, 1).contiguous()

    def _token_log_probs(self, inference: Inference) -> torch.Tensor:
        return inference.cached("token_log_probs", lambda: torch.log_softmax(self._scores(inference), dim=-1))

    def _log_likelihood(self, inference: Inference, tags: torch.Tensor) -> torch.Tensor:
        mask = inference.mask
        log_probs = self._token_log_probs(inference)
        gold = log_probs.gather(2, tags.masked_fill(~mask, 0).unsqueeze(2)).squeeze(2)
        return gold.masked_fill(~mask, 0.0).sum(1)

    def _paths_log_likelihood(self, inference: Inference, paths: torch.Tensor) -> torch.Tensor:
        mask = inference.mask
        index = paths.masked_fill(~mask.unsqueeze(1), 0).transpose(1, 2)  # (batch, seq, k)
        gold = self._token_log_probs(inference).gather(2, index)
        return gold.masked_fill(~mask.unsqueeze(2), 0.0).sum(1)

    def _decode(self, inference: Inference) -> torch.Tensor:
        mask = inference.mask
        hard = self.hard_constraint_penalties(inference.dtype)
        if hard is None:
            return self._scores(inference).argmax(-1).masked_fill(~mask, 0)
        if self.span_repair is not None:
            return self.span_repair.label_major(self._label_major_scores(inference), mask)
        # Disallowed transitions score -inf here, not -10000: the log-probabilities are not bounded
        # below, and only -inf keeps every disallowed path below every allowed one.
        return viterbi(finite(self._token_log_probs(inference), mask.size(1)), mask, *hard)[0]

    def _log_marginals(self, inference: Inference) -> torch.Tensor:
        return self._token_log_probs(inference).masked_fill(~inference.mask.unsqueeze(2), 0.0)
