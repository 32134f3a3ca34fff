"""The base of the decoders whose distribution over label sequences is a product of per-token softmaxes."""
import torch

from allennlp_ain.modules.decoders.linear_chain import viterbi
from allennlp_ain.modules.decoders.sequence_decoder import Inference, SequenceDecoder


class FactorizedDecoder(SequenceDecoder):
    """
    A decoder whose distribution is factorized: `Q(y) = Πᵢ softmax(sᵢ)[yᵢ]` for token scores `s`
    `(batch, seq, L)` that each subclass defines (`token_scores`): the logits themselves for
    `maxent`, the mean-field scores `qᴹ` for `mfvi`. Given them, everything is the same:

    - `log_likelihood`: `Σᵢ log softmax(sᵢ)[yᵢ]` over each sentence's real tokens;
    - `decode`: per-position `argmax sᵢ`, zero at padding (nothing sequential). With `constraints`,
      the best sequence of per-token log-probabilities that uses only allowed transitions (Viterbi
      with 0 / -inf transition scores), so the output is always valid, at the price of one
      sequential pass over the positions;
    - `log_marginals`: `log softmax(sᵢ)`, zero at padding;
    - no partition function and no k-best paths.
    """

    def token_scores(self, inference: Inference) -> torch.Tensor:
        """The token scores `s` `(batch, seq, L)` in the inference's dtype; meaningless at padding."""
        raise NotImplementedError

    def _scores(self, inference: Inference) -> torch.Tensor:
        return inference.cached("token_scores", lambda: self.token_scores(inference))

    def _token_log_probs(self, inference: Inference) -> torch.Tensor:
        return inference.cached("token_log_probs", lambda: torch.log_softmax(self._scores(inference), dim=-1))

    def _log_likelihood(self, inference: Inference, tags: torch.Tensor) -> torch.Tensor:
        mask = inference.mask
        log_probs = self._token_log_probs(inference)
        gold = log_probs.gather(2, tags.masked_fill(~mask, 0).unsqueeze(2)).squeeze(2)
        return gold.masked_fill(~mask, 0.0).sum(1)

    def _decode(self, inference: Inference) -> torch.Tensor:
        mask = inference.mask
        penalties = self.constraint_penalties(inference.dtype)
        if penalties is None:
            return self._scores(inference).argmax(-1).masked_fill(~mask, 0)
        # Disallowed transitions score -inf here, not -10000: the log-probabilities are not bounded
        # below (AIN's mean-field messages carry the -10000 penalties too, so log Qᴹ reaches about
        # -20000), and only -inf keeps every disallowed path below every allowed one.
        hard = [penalty.masked_fill(penalty < 0, float("-inf")) for penalty in penalties]
        return viterbi(self._token_log_probs(inference), mask, *hard)[0]

    def _log_marginals(self, inference: Inference) -> torch.Tensor:
        return self._token_log_probs(inference).masked_fill(~inference.mask.unsqueeze(2), 0.0)
