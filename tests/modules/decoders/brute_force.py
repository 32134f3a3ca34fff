"""Enumeration of every label sequence: the reference the decoders are tested against."""
import itertools

import torch


def all_sequences(length: int, num_labels: int) -> torch.Tensor:
    return torch.tensor(list(itertools.product(range(num_labels), repeat=length)), dtype=torch.long)


def chain_scores(unary, transitions, start, end, sequences):
    """Scores of every sequence (rows of `sequences`) for one sentence `unary` (n, L)."""
    n = unary.size(0)
    scores = unary[torch.arange(n), sequences].sum(1) + start[sequences[:, 0]] + end[sequences[:, -1]]
    if n > 1:
        scores = scores + transitions[sequences[:, :-1], sequences[:, 1:]].sum(1)
    return scores


def exact(unary, transitions, start, end):
    """(log Z, best sequence, its score, marginals (n, L), sorted scores, sorted sequences)."""
    n, num_labels = unary.shape
    sequences = all_sequences(n, num_labels)
    scores = chain_scores(unary, transitions, start, end, sequences)
    log_z = torch.logsumexp(scores, 0)
    probs = (scores - log_z).exp()
    marginals = torch.zeros(n, num_labels, dtype=unary.dtype)
    for i in range(n):
        marginals[i].index_add_(0, sequences[:, i], probs)
    order = scores.argsort(descending=True)
    return log_z, sequences[order[0]], scores[order[0]], marginals, scores[order], sequences[order]


BIOES = {0: "O", 1: "B-PER", 2: "I-PER", 3: "E-PER", 4: "S-PER"}


def valid_bioes(sequence) -> bool:
    """Whether a sequence of `BIOES` label ids is a valid BIOES sequence."""
    previous = "O"
    for tag in [BIOES[t] for t in sequence] + ["O"]:
        if (previous[0] in "BI") != (tag[0] in "IE"):
            return False
        previous = tag
    return True
