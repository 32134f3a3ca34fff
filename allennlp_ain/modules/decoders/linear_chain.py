"""
Dynamic programs over a linear chain, batched over sentences and run on the tensors' device.

Each function takes unary potentials `emissions` `(batch, seq, L)`, a left-aligned bool `mask`
`(batch, seq)`, `transitions` `(L, L)` indexed [from, to], and `start` / `end` `(L,)`. The loops
run over time only (`seq - 1` steps of batched tensor operations); nothing reads a tensor value
on the host. At a padded step every state is carried over unchanged (the backpointers are the
identity), so padding never changes a real token's result.

Complexities for `n = seq`: `O(n L²)` work for the partition function, the marginals and
Viterbi, `O(n L² k log k)` for the k best paths. Everything runs in the emissions' dtype.
"""
from typing import Tuple

import torch


def sequence_score(
    emissions: torch.Tensor,
    tags: torch.Tensor,
    mask: torch.Tensor,
    transitions: torch.Tensor,
    start: torch.Tensor,
    end: torch.Tensor,
) -> torch.Tensor:
    """Score `Σᵢ ψᵤ(yᵢ) + Σᵢ U[yᵢ₋₁, yᵢ] + start[y₁] + end[yₙ]` of `tags`, shape `(batch,)`."""
    tags = tags.masked_fill(~mask, 0)
    unary = emissions.gather(2, tags.unsqueeze(2)).squeeze(2).masked_fill(~mask, 0.0).sum(1)
    pairwise = transitions[tags[:, :-1], tags[:, 1:]].masked_fill(~mask[:, 1:], 0.0).sum(1)
    last = tags.gather(1, (mask.sum(1, keepdim=True) - 1).clamp_min(0)).squeeze(1)
    return unary + pairwise + start[tags[:, 0]] + end[last]


def _log_matmul(log_vectors: torch.Tensor, exp_matrix: torch.Tensor, matrix_max: torch.Tensor) -> torch.Tensor:
    """
    `log(exp(log_vectors) @ exp(matrix))` for `(batch, L)` vectors, with `exp_matrix =
    exp(matrix - matrix_max)`: one product in probability space, stabilised by the vectors' row
    maxima and the matrix's maximum. A sum that underflows is clamped to the dtype's `tiny`.
    """
    tiny = torch.finfo(log_vectors.dtype).tiny
    row_max = log_vectors.max(-1, keepdim=True).values.detach()
    return ((log_vectors - row_max).exp() @ exp_matrix).clamp_min(tiny).log() + row_max + matrix_max


def forward_scores(
    emissions: torch.Tensor,
    mask: torch.Tensor,
    transitions: torch.Tensor,
    start: torch.Tensor,
    end: torch.Tensor,
) -> torch.Tensor:
    """
    The forward recursion in the log semiring: `alpha[:, i, l]` `(batch, seq, L)` is the log of the
    summed scores of every prefix `y₁..yᵢ` with `yᵢ = l` (start and unaries included). At a padded
    position `alpha` carries the last real token's value over, so `alpha[:, -1]` is the final one.
    `end` is not used (`log Z = logsumexp(alpha[:, -1] + end)`); it is an argument for symmetry
    with the others.

    Each step is one `(batch, L) @ (L, L)` product in probability space, stabilised by
    subtracting the running maximum of the forward scores and the maximum transition score.
    """
    trans_max = transitions.max().detach()
    exp_transitions = (transitions - trans_max).exp()
    alpha = start + emissions[:, 0]
    alphas = [alpha]
    for t in range(1, emissions.size(1)):
        step = _log_matmul(alpha, exp_transitions, trans_max) + emissions[:, t]
        alpha = torch.where(mask[:, t].unsqueeze(1), step, alpha)
        alphas.append(alpha)
    return torch.stack(alphas, dim=1)


def backward_scores(
    emissions: torch.Tensor,
    mask: torch.Tensor,
    transitions: torch.Tensor,
    start: torch.Tensor,
    end: torch.Tensor,
) -> torch.Tensor:
    """
    The backward recursion in the log semiring: `beta[:, i, l]` `(batch, seq, L)` is the log of
    the summed scores of every suffix `yᵢ₊₁..yₙ` given `yᵢ = l` (transitions, later unaries and the
    end score; not the unary of position `i`). At the last real token `beta = end`; at padded
    positions too (meaningless there). `start` is not used.

    Then `alpha + beta − log Z` are the exact log-marginals, computed by one more recursion of the
    same cost as the forward one, differentiable by ordinary (first-order) autograd.
    """
    trans_max = transitions.max().detach()
    exp_transitions_t = (transitions - trans_max).exp().t()
    length = emissions.size(1)
    beta = end.expand(emissions.size(0), -1)
    betas = [beta]
    for t in range(length - 2, -1, -1):
        step = _log_matmul(emissions[:, t + 1] + beta, exp_transitions_t, trans_max)
        beta = torch.where(mask[:, t + 1].unsqueeze(1), step, end.expand_as(step))
        betas.append(beta)
    betas.reverse()
    return torch.stack(betas, dim=1)


def viterbi(
    emissions: torch.Tensor,
    mask: torch.Tensor,
    transitions: torch.Tensor,
    start: torch.Tensor,
    end: torch.Tensor,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """
    The best label sequence (max semiring): tags `(batch, seq)` (zero at padding) and their
    scores `(batch,)`. The backtrace is batched too: one `gather` per time step.
    """
    batch, length, num_labels = emissions.shape
    identity = torch.arange(num_labels, device=emissions.device).expand(batch, num_labels)
    score = start + emissions[:, 0]
    backpointers = []
    for t in range(1, length):
        best, pointer = (score.unsqueeze(2) + transitions).max(dim=1)
        step_mask = mask[:, t].unsqueeze(1)
        score = torch.where(step_mask, best + emissions[:, t], score)
        backpointers.append(torch.where(step_mask, pointer, identity))
    best_score, tag = (score + end).max(dim=-1)
    path = [tag]
    for pointer in reversed(backpointers):
        tag = pointer.gather(1, tag.unsqueeze(1)).squeeze(1)
        path.append(tag)
    path.reverse()
    return torch.stack(path, dim=1).masked_fill(~mask, 0), best_score


def kbest(
    emissions: torch.Tensor,
    mask: torch.Tensor,
    transitions: torch.Tensor,
    start: torch.Tensor,
    end: torch.Tensor,
    k: int,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """
    The `k` best label sequences (k-max semiring): tags `(batch, k, seq)` and scores `(batch, k)`,
    best first. Each state keeps its `k` best partial paths; a backpointer stores
    `previous_label * k + previous_rank`. A sentence with fewer than `k` distinct label sequences
    gets `-inf` scores (and arbitrary tags) in the surplus ranks.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    batch, length, num_labels = emissions.shape
    device = emissions.device
    score = emissions.new_full((batch, num_labels, k), float("-inf"))
    score[:, :, 0] = start + emissions[:, 0]
    identity = (torch.arange(num_labels, device=device).unsqueeze(1) * k + torch.arange(k, device=device)).expand(
        batch, num_labels, k
    )
    backpointers = []
    for t in range(1, length):
        # (batch, from, to, rank) -> (batch, to, from * k + rank)
        candidates = (score.unsqueeze(2) + transitions.unsqueeze(2)).transpose(1, 2)
        best, pointer = candidates.reshape(batch, num_labels, num_labels * k).topk(k, dim=-1)
        step_mask = mask[:, t].view(batch, 1, 1)
        score = torch.where(step_mask, best + emissions[:, t].unsqueeze(2), score)
        backpointers.append(torch.where(step_mask, pointer, identity))
    top_scores, flat = (score + end.view(1, num_labels, 1)).reshape(batch, num_labels * k).topk(k, dim=-1)
    tag, rank = flat // k, flat % k
    path = [tag]
    for pointer in reversed(backpointers):
        previous = pointer.reshape(batch, num_labels * k).gather(1, tag * k + rank)
        tag, rank = previous // k, previous % k
        path.append(tag)
    path.reverse()
    tags = torch.stack(path, dim=2).masked_fill(~mask.unsqueeze(1), 0)
    return tags, top_scores
