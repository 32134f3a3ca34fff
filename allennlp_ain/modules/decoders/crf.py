from typing import List, Optional, Tuple

import torch

from allennlp_ain.modules.decoders import linear_chain
from allennlp_ain.modules.decoders.sequence_decoder import SequenceDecoder


@SequenceDecoder.register("crf")
class LinearChainCrf(SequenceDecoder):
    """
    The exact linear-chain CRF: `P(y | x) ∝ exp{Σᵢ ψᵤ(x, yᵢ) + Σᵢ U[yᵢ₋₁, yᵢ] + start[y₁] + end[yₙ]}`.

    - `loss`: sequence negative log-likelihood `log Z(x) − score(y*)`, averaged over sentences.
    - `log_partition`: `log Z(x)` by the forward algorithm, `(batch,)`.
    - `decode`: Viterbi, batched on the device including the backtrace.
    - `topk`: the k best sequences and their (unnormalised) scores.
    - `marginals`: exact `P(yᵢ = l | x)`, the gradient of `log Z` with respect to the unaries
      (forward-backward by automatic differentiation). Differentiable when the logits require grad.

    All of them run in float32 even under autocast. With `constraints`, disallowed transitions
    score -10000 in training and decoding alike. See `linear_chain` for the algorithms.

    Registered as a `SequenceDecoder` with name "crf".

    # Parameters

    num_labels : `int`
    constraints : `List[Tuple[int, int]]`, optional (default = `None`)
        See `SequenceDecoder`.
    """

    def __init__(self, num_labels: int, constraints: Optional[List[Tuple[int, int]]] = None) -> None:
        super().__init__(num_labels, constraints)
        self.transitions = torch.nn.Parameter(torch.zeros(num_labels, num_labels))
        self.start_transitions = torch.nn.Parameter(torch.zeros(num_labels))
        self.end_transitions = torch.nn.Parameter(torch.zeros(num_labels))

    def potentials(self) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """`(transitions, start, end)` in float32 with the constraint penalties added."""
        return self.with_constraints(self.transitions, self.start_transitions, self.end_transitions)

    def log_partition(self, logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        self._check(logits, mask)
        with torch.autocast(logits.device.type, enabled=False):
            return linear_chain.log_partition(logits.float(), mask, *self.potentials())

    def score(self, logits: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The unnormalised score of `tags`, `(batch,)`."""
        self._check(logits, mask)
        with torch.autocast(logits.device.type, enabled=False):
            return linear_chain.sequence_score(logits.float(), tags, mask, *self.potentials())

    def loss(self, logits: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return (self.log_partition(logits, mask) - self.score(logits, tags, mask)).mean()

    def decode(self, logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        self._check(logits, mask)
        return linear_chain.viterbi(logits.float(), mask, *self.potentials())[0]

    def topk(self, logits: torch.Tensor, mask: torch.Tensor, k: int) -> Tuple[torch.Tensor, torch.Tensor]:
        self._check(logits, mask)
        return linear_chain.kbest(logits.float(), mask, *self.potentials(), k)

    def marginals(self, logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        self._check(logits, mask)
        differentiable = torch.is_grad_enabled() and logits.requires_grad
        with torch.enable_grad(), torch.autocast(logits.device.type, enabled=False):
            unaries = logits.float() if differentiable else logits.detach().float().requires_grad_()
            log_z = linear_chain.log_partition(unaries, mask, *self.potentials())
            (marginals,) = torch.autograd.grad(log_z.sum(), unaries, create_graph=differentiable)
        return marginals
