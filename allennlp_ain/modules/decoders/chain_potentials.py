"""The parameters of a linear-chain CRF, shared by the exact `crf` decoder and the `mfvi` (AIN) decoder."""
from typing import Optional, Tuple

import torch


class ChainPotentials:
    """
    A mixin for a `SequenceDecoder` that scores a first-order chain: `transitions` `(L, L)`
    indexed [from, to], `start_transitions` `(L,)` and `end_transitions` `(L,)`, all initialised
    to zero. `potentials(dtype)` gives them with the decoder's constraint penalties added (the exact
    `crf` scores only valid sequences); `chain_parameters(dtype)` without them (`mfvi`, whose
    constraints act on decoding only). Such a decoder `scores_transitions` (a declared capability).
    """

    scores_transitions = True

    def _add_chain_parameters(self, num_labels: int) -> None:
        self.transitions = torch.nn.Parameter(torch.zeros(num_labels, num_labels))
        self.start_transitions = torch.nn.Parameter(torch.zeros(num_labels))
        self.end_transitions = torch.nn.Parameter(torch.zeros(num_labels))

    def chain_parameters(self, dtype: torch.dtype) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """`(transitions, start, end)` in `dtype`, without constraint penalties."""
        return self.transitions.to(dtype), self.start_transitions.to(dtype), self.end_transitions.to(dtype)

    def potentials(self, dtype: Optional[torch.dtype] = None) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """`(transitions, start, end)` in `dtype` (default: the parameters', at least float32), constraints added."""
        return self.with_constraints(  # type: ignore[attr-defined]
            self.transitions, self.start_transitions, self.end_transitions, dtype
        )
