from typing import List, Optional, Tuple

import torch

from allennlp_ain.modules.decoders.factorized import FactorizedDecoder
from allennlp_ain.modules.decoders.sequence_decoder import Inference, SequenceDecoder
from allennlp_ain.modules.decoders.span_repair import SpanLabels, first_max_label


@SequenceDecoder.register("maxent")
class MaxEnt(FactorizedDecoder):
    """
    Independent per-token softmax (the paper's MaxEnt): `P(y | x) = Πᵢ softmax(ψᵤ(x))[yᵢ]`, a
    `FactorizedDecoder` whose token scores are the logits.

    - `loss`: per-token cross-entropy summed over each sentence, averaged over sentences.
    - `decode`: per-token argmax, `O(n L)`. With `constraints`, always valid under them: the
      argmax repaired in parallel (`valid_decoding="parallel"`, with the head's `span_labels`) or
      exact constrained Viterbi over the log-probabilities (`"viterbi"`); see `FactorizedDecoder`.
      Training is unchanged, as MaxEnt has no transitions.
    - `marginals`: the softmax itself, exact for this model (`exact_marginals`).
    - No partition function and no k-best paths.

    Registered as a `SequenceDecoder` with name "maxent".

    # Parameters

    num_labels : `int`
        The size of the label set `L`.
    constraints : `List[Tuple[int, int]]`, optional (default = `None`)
        Allowed `(from, to)` label pairs, START = `L`, END = `L + 1`. See `SequenceDecoder`.
    span_labels : `SpanLabels`, optional (default = `None`)
        The label set's span structure, supplied by the tagging head with the constraints.
    valid_decoding : `str`, optional (default = `"parallel"`)
        `"parallel"` or `"viterbi"`: how constrained decoding finds a valid sequence.
    """

    exact_marginals = True

    def __init__(
        self,
        num_labels: int,
        constraints: Optional[List[Tuple[int, int]]] = None,
        span_labels: Optional[SpanLabels] = None,
        valid_decoding: str = "parallel",
    ) -> None:
        super().__init__(num_labels, constraints, span_labels, valid_decoding)

    def token_scores(self, inference: Inference) -> torch.Tensor:
        return inference.logits

    def _decode(self, inference: Inference) -> torch.Tensor:
        if self.constrained:
            return super()._decode(inference)
        return first_max_label(inference.logits.permute(2, 0, 1).contiguous()).masked_fill(~inference.mask, 0)
