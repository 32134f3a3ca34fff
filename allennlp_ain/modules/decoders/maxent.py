from typing import List, Optional, Tuple

import torch

from allennlp_ain.modules.decoders.linear_chain import viterbi
from allennlp_ain.modules.decoders.sequence_decoder import SequenceDecoder


@SequenceDecoder.register("maxent")
class MaxEnt(SequenceDecoder):
    """
    Independent per-token softmax (the paper's MaxEnt): `P(y | x) = Πᵢ softmax(ψᵤ(x))[yᵢ]`.

    - `loss`: per-token cross-entropy summed over each sentence, averaged over sentences.
    - `decode`: per-token argmax, `O(n L)`. With `constraints`, the best sequence of per-token
      log-probabilities that uses only allowed transitions (Viterbi with 0 / -10000 transition
      scores), so the output is always valid; training is unchanged, as MaxEnt has no transitions.
    - `marginals`: the softmax itself (exact for this model).

    Registered as a `SequenceDecoder` with name "maxent".

    # Parameters

    num_labels : `int`
    constraints : `List[Tuple[int, int]]`, optional (default = `None`)
        See `SequenceDecoder`.
    """

    def __init__(self, num_labels: int, constraints: Optional[List[Tuple[int, int]]] = None) -> None:
        super().__init__(num_labels, constraints)

    def loss(self, logits: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        self._check(logits, mask)
        log_probs = torch.log_softmax(logits.float(), dim=-1)
        gold = log_probs.gather(2, tags.masked_fill(~mask, 0).unsqueeze(2)).squeeze(2)
        return -gold.masked_fill(~mask, 0.0).sum(1).mean()

    def decode(self, logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        self._check(logits, mask)
        penalties = self.constraint_penalties()
        if penalties is None:
            return logits.argmax(-1).masked_fill(~mask, 0)
        return viterbi(torch.log_softmax(logits.float(), dim=-1), mask, *penalties)[0]

    def marginals(self, logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        self._check(logits, mask)
        return torch.softmax(logits.float(), dim=-1) * mask.unsqueeze(2)
