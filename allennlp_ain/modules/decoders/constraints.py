"""
Constraint masks from allowed `(from, to)` label-id pairs. Label strings never enter the decoders:
`allennlp_ain.tag_schemes.allowed_transitions` turns a label vocabulary and its scheme into the pairs.
"""
from typing import List, Tuple

import torch


def constraint_masks(num_labels: int, constraints: List[Tuple[int, int]]) -> Tuple[torch.Tensor, ...]:
    """Boolean masks `(transition (L, L) [from, to], start (L,), end (L,))`, true where allowed."""
    allowed = torch.zeros(num_labels + 2, num_labels + 2, dtype=torch.bool)
    for i, j in constraints:
        if not (0 <= i < num_labels + 2 and 0 <= j < num_labels + 2):
            raise ValueError(f"Constraint {(i, j)} is outside 0..{num_labels + 1} (START={num_labels}, END={num_labels + 1})")
        allowed[i, j] = True
    return allowed[:num_labels, :num_labels], allowed[num_labels, :num_labels], allowed[:num_labels, num_labels + 1]
