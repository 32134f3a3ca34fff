from typing import List, Optional, Tuple

import torch

from allennlp_ain.modules.decoders.factorized import FactorizedDecoder
from allennlp_ain.modules.decoders.sequence_decoder import Inference, SequenceDecoder


@SequenceDecoder.register("maxent")
class MaxEnt(FactorizedDecoder):
    """
    Independent per-token softmax (the paper's MaxEnt): `P(y | x) = Πᵢ softmax(ψᵤ(x))[yᵢ]`, a
    `FactorizedDecoder` whose token scores are the logits.

    - `loss`: per-token cross-entropy summed over each sentence, averaged over sentences.
    - `decode`: per-token argmax, `O(n L)`. With `constraints`, the best sequence of per-token
      log-probabilities that uses only allowed transitions (Viterbi with 0 / -inf transition
      scores), so the output is always valid; training is unchanged, as MaxEnt has no transitions.
    - `marginals`: the softmax itself, exact for this model (`exact_marginals`).
    - No partition function and no k-best paths.

    Registered as a `SequenceDecoder` with name "maxent".

    # Parameters

    num_labels : `int`
        The size of the label set `L`.
    constraints : `List[Tuple[int, int]]`, optional (default = `None`)
        Allowed `(from, to)` label pairs, START = `L`, END = `L + 1`. See `SequenceDecoder`.
    """

    exact_marginals = True

    def __init__(self, num_labels: int, constraints: Optional[List[Tuple[int, int]]] = None) -> None:
        super().__init__(num_labels, constraints)

    def token_scores(self, inference: Inference) -> torch.Tensor:
        return inference.logits
