"""
Label-encoding constraints, built on AllenNLP's `allowed_transitions`.

AllenNLP names the BIOES scheme `BIOUL` (U = single, L = last); this module accepts the
paper's `BIOES` name and S-/E- labels and maps them before asking AllenNLP.
"""
from typing import Dict, List, Tuple

import torch
from allennlp.modules.conditional_random_field import allowed_transitions

ENCODINGS = ("BIOES", "BIOUL", "BIO", "IOB1", "BMES")


def label_constraints(label_encoding: str, labels: Dict[int, str]) -> List[Tuple[int, int]]:
    """
    Allowed `(from, to)` pairs for `labels` (id → label) under `label_encoding`, with START = `L`
    and END = `L + 1` as in `allennlp.modules.conditional_random_field`.
    """
    encoding = label_encoding.upper()
    if encoding not in ENCODINGS:
        raise ValueError(f"Unknown label encoding {label_encoding!r}; expected one of {ENCODINGS}")
    if encoding == "BIOES":
        renamed = {}
        for index, label in labels.items():
            prefix, sep, rest = label.partition("-")
            renamed[index] = {"S": "U", "E": "L"}.get(prefix, prefix) + sep + rest if sep else label
        labels, encoding = renamed, "BIOUL"
    return allowed_transitions(encoding, labels)


def constraint_masks(num_labels: int, constraints: List[Tuple[int, int]]) -> Tuple[torch.Tensor, ...]:
    """Boolean masks `(transition (L, L) [from, to], start (L,), end (L,))`, true where allowed."""
    allowed = torch.zeros(num_labels + 2, num_labels + 2, dtype=torch.bool)
    for i, j in constraints:
        if not (0 <= i < num_labels + 2 and 0 <= j < num_labels + 2):
            raise ValueError(f"Constraint {(i, j)} is outside 0..{num_labels + 1} (START={num_labels}, END={num_labels + 1})")
        allowed[i, j] = True
    return allowed[:num_labels, :num_labels], allowed[num_labels, :num_labels], allowed[:num_labels, num_labels + 1]
