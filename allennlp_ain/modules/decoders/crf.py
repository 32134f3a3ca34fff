from typing import List, Optional, Tuple

import torch

from allennlp_ain.modules.decoders import linear_chain
from allennlp_ain.modules.decoders.chain_potentials import ChainPotentials
from allennlp_ain.modules.decoders.sequence_decoder import Inference, SequenceDecoder, autocast_disabled, compute_dtype, finite


@SequenceDecoder.register("crf")
class LinearChainCrf(ChainPotentials, SequenceDecoder):
    """
    The exact linear-chain CRF: `P(y | x) ∝ exp{Σᵢ ψᵤ(x, yᵢ) + Σᵢ U[yᵢ₋₁, yᵢ] + start[y₁] + end[yₙ]}`.

    - `log_likelihood`: `score(y) − log Z(x)` per sentence; `loss` is its negative mean;
      `paths_log_likelihood` the same for k paths per sentence, with one `log Z`.
    - `log_partition`: `log Z(x)` by the forward algorithm, `(batch,)`.
    - `decode`: Viterbi, batched on the device including the backtrace.
    - `topk`: the k best sequences and their (unnormalised) scores.
    - `log_marginals` / `marginals`: exact `log P(yᵢ = l | x)` / `P(yᵢ = l | x)` by forward-backward
      (`linear_chain.backward_scores`, a log-space backward recursion, not autograd through
      autograd). Differentiable when the logits require grad.

    Every capability is there: `exact_marginals`, `has_partition`, `has_topk`. One `infer` runs
    the forward recursion once for the partition function, the likelihood and the marginals.

    Everything runs with autocast disabled: in float32 for float32 and half-precision input, in
    float64 for float64 input. With `constraints`, disallowed transitions score -10000 in training
    (the likelihood, the partition function, the marginals, `topk`), and `-inf` in `decode`, whose
    output is thus valid under them whatever the potentials (NaN and ±inf scores are bounded
    first). See `linear_chain` for the algorithms.

    Registered as a `SequenceDecoder` with name "crf" (the default decoder).

    # Parameters

    num_labels : `int`
        The size of the label set `L`.
    constraints : `List[Tuple[int, int]]`, optional (default = `None`)
        Allowed `(from, to)` label pairs, START = `L`, END = `L + 1`. See `SequenceDecoder`.
    """

    exact_marginals = True
    has_partition = True
    has_topk = True

    def __init__(self, num_labels: int, constraints: Optional[List[Tuple[int, int]]] = None) -> None:
        super().__init__(num_labels, constraints)
        self._add_chain_parameters(num_labels)

    def score(self, logits: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The unnormalised score of `tags`, `(batch,)`."""
        self._check(logits, mask)
        with autocast_disabled(logits):
            dtype = compute_dtype(logits)
            return linear_chain.sequence_score(logits.to(dtype), tags, mask, *self.potentials(dtype))

    def _potentials(self, inference: Inference) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return inference.cached("potentials", lambda: self.potentials(inference.dtype))

    def _alphas(self, inference: Inference) -> torch.Tensor:
        return inference.cached(
            "alphas", lambda: linear_chain.forward_scores(inference.logits, inference.mask, *self._potentials(inference))
        )

    def _log_partition(self, inference: Inference) -> torch.Tensor:
        end = self._potentials(inference)[2]
        return torch.logsumexp(self._alphas(inference)[:, -1] + end, dim=-1)

    def _log_likelihood(self, inference: Inference, tags: torch.Tensor) -> torch.Tensor:
        gold = linear_chain.sequence_score(inference.logits, tags, inference.mask, *self._potentials(inference))
        return gold - inference.log_partition

    def _paths_log_likelihood(self, inference: Inference, paths: torch.Tensor) -> torch.Tensor:
        # the k paths of a sentence share its emissions and its log Z (computed once)
        batch, k, length = paths.shape
        logits = inference.logits.unsqueeze(1).expand(batch, k, length, -1).reshape(batch * k, length, -1)
        mask = inference.mask.unsqueeze(1).expand(batch, k, length).reshape(batch * k, length)
        potentials = self._potentials(inference)
        scores = linear_chain.sequence_score(logits, paths.reshape(batch * k, length), mask, *potentials)
        return scores.view(batch, k) - inference.log_partition.unsqueeze(1)

    def _decode(self, inference: Inference) -> torch.Tensor:
        hard = self.hard_constraint_penalties(inference.dtype)
        if hard is None:
            return linear_chain.viterbi(inference.logits, inference.mask, *self._potentials(inference))[0]
        # decoding under hard constraints: -inf for disallowed transitions (training keeps -10000)
        length = inference.mask.size(1)
        potentials = [finite(p, length) + h for p, h in zip(self.chain_parameters(inference.dtype), hard)]
        return linear_chain.viterbi(finite(inference.logits, length), inference.mask, *potentials)[0]

    def _topk(self, inference: Inference, k: int) -> Tuple[torch.Tensor, torch.Tensor]:
        return linear_chain.kbest(inference.logits, inference.mask, *self._potentials(inference), k)

    def _log_marginals(self, inference: Inference) -> torch.Tensor:
        mask = inference.mask
        betas = linear_chain.backward_scores(inference.logits, mask, *self._potentials(inference))
        log_z = inference.log_partition
        return (self._alphas(inference) + betas - log_z.view(-1, 1, 1)).masked_fill(~mask.unsqueeze(2), 0.0)
