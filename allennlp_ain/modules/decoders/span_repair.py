"""
Valid span labels in parallel: the decoding that factorized decoders (`maxent`, `mfvi`) use when
they are built with constraints and the label set's span structure (`SpanLabels`).

# The rule

The input is a score per token and label `s (batch, seq, L)` (for `mfvi` the mean-field scores
`qᴹ`, whose softmax is `Qᴹ`; any per-token additive constant cancels, so no softmax is needed).
Each label has a *type* (`0` for `O`, `1..C` for the span types), and says whether a span *opens*
at it (B-, S-; IOB1's B-) and whether one *closes* at it (E-, S-). With `ŷ` the per-token argmax:

1. **Segment.** Between tokens `t − 1` and `t` a new segment starts when the best label that may
   end a segment at `t − 1` plus the best label that may begin one at `t` score at least as much as
   the best label that may be continued at `t − 1` plus the best that may continue a span at `t`.
   The roles come from the scheme, whatever the types: in BIOES a segment begins at `O`, `B-`, `S-`
   and ends at `O`, `E-`, `S-`; `B-`, `I-` are continued, `I-`, `E-` continue; in BIO every label
   may end a segment, `O` and `B-` begin one, `B-`, `I-` are continued and `I-` continues. Each
   boundary is decided by its two tokens alone. In IOB1, whose `I-` both begins and continues
   spans, the argmax's prefixes segment instead: a segment starts where the argmax opens (`B-`),
   follows or is an `O`, or changes type (`I-PER I-LOC`).
2. **Type.** Each segment takes the type `c` (`O` included) whose labels score highest summed over
   the segment, where a token's label under `c` is the one its position in the segment requires:
   in BIOES `S-c` alone, else `B-c`, `I-c`…, `E-c`; in BIO `B-c` then `I-c`; in IOB1 `B-c` where
   the segment follows one of the same type, else `I-c`; and `O` for every token under `O`. A type
   without the needed label (a label set without `S-MISC`) is not a candidate.
3. **Label.** Every token gets its label under its segment's type.

Everything is elementwise over positions, shifts of one, a cumulative sum (segment ids), a
scatter-add (segment totals) and gathers: nothing runs sequentially over positions, nothing reads
a tensor value on the host, and the computation exports (ONNX: CumSum, ScatterElements). Work
`O(n (L + C))` per sentence.

# What it guarantees, and what it gives up

- **Always valid** (start, every transition, end) under the scheme's constraints: each segment is
  one well-formed span (or `O`s), and consecutive segments meet at a span boundary.
- **The argmax itself** wherever the argmax sequence is already valid (and no token has two best
  labels): the boundary comparisons then find its spans as segments,
  and under each span's own type every token gets its own best label. That is also what the exact
  constrained Viterbi decoding gives there.
- **Given the segmentation**, the best-scoring valid labelling (the type choice of step 2 is exact).
- What it gives up against exact constrained Viterbi over the same scores: each boundary is
  decided from its two tokens' scores and every type at once, never searched jointly with the
  types and the other boundaries, so a span the local comparison cuts or joins wrongly stays so
  (`B-PER I-PER O`, where `O` is close to `E-PER` on the third token, may stay
  `B-PER E-PER O` where Viterbi chooses `B-PER I-PER E-PER`); and in IOB1 the segmentation is the
  argmax's and the `B-` of a segment is scored with the argmax's type of the previous token, not
  the finally chosen one. On a trained CoNLL-2003 AIN-1O tagger (`docs/results.md`) the rule's
  output differed from exact constrained decoding on 5 of 3,250 dev sentences (dev F1 0.02 lower,
  test F1 equal); reading the segments from the argmax's prefixes, an earlier rule, differed on 17.

The rule needs at least one type (usually `O`) that can label any segment; `SpanLabels.complete`
says whether that holds, and the decoders fall back to sequential Viterbi when it does not.
"""
from typing import List, NamedTuple

import torch

# relabel code of a token's position: begins * 4 + ends * 2 + follows a segment of the same type
_CODES = 8


class SpanLabels(NamedTuple):
    """
    The span structure of a label set, in label ids (`allennlp_ain.tag_schemes.span_labels` builds
    it from label strings and a scheme).

    - `types[l]`: `0` for `O`, `1..C` for span types, `-1` for a label never to output
      (`@@UNKNOWN@@`);
    - `opens[l]` / `closes[l]`: a span opens / closes at label `l` (`O` does both);
    - `relabel[c][code]`: the label of a token of a segment of type `c` (`0..C`) at position
      `code = begins · 4 + ends · 2 + follows_same` (`begins`: first token of its segment; `ends`:
      last; `follows_same`: it begins a segment that follows one of the same type), or `-1` where
      the label set has none;
    - `type_change_splits`: a change of type alone starts a new span (IOB1).
    """

    types: List[int]
    opens: List[bool]
    closes: List[bool]
    relabel: List[List[int]]
    type_change_splits: bool = False

    @property
    def complete(self) -> bool:
        """Whether some type can label every position code, so that every segment has a candidate."""
        return any(all(label >= 0 for label in row) for row in self.relabel)


class SpanRepair(torch.nn.Module):
    """
    The rule of this module's docstring as a module with the label tables as buffers (they follow
    the decoder to its device). `forward(scores, mask)` returns the labels `(batch, seq)`, zero at
    padding.

    # Parameters

    span_labels : `SpanLabels`
        The label set's span structure.
    """

    def __init__(self, span_labels: SpanLabels) -> None:
        super().__init__()
        num_labels = len(span_labels.types)
        if not (len(span_labels.opens) == len(span_labels.closes) == num_labels):
            raise ValueError("SpanLabels: types, opens and closes must have one entry per label")
        if any(len(row) != _CODES for row in span_labels.relabel):
            raise ValueError(f"SpanLabels: every relabel row needs {_CODES} entries")
        if max(span_labels.types) >= len(span_labels.relabel):
            raise ValueError("SpanLabels: a label's type has no relabel row")
        if not span_labels.complete:
            raise ValueError("SpanLabels: no type can label every segment (the label set lacks O)")
        types = torch.tensor(span_labels.types, dtype=torch.long)
        outside = types == 0
        self.register_buffer("types", types.clamp_min(0), persistent=False)
        # labels never to output, or None when there are none
        self.register_buffer("never", types < 0 if bool((types < 0).any()) else None, persistent=False)
        # a segment starts at a label that opens a span or is O, and after one that closes or is O
        starts = torch.tensor(span_labels.opens) | outside
        stops = torch.tensor(span_labels.closes) | outside
        self.register_buffer("starts", starts, persistent=False)
        self.register_buffer("stops", stops, persistent=False)
        # step 1's boundary scores: which labels a segment may begin / end with, and which may be
        # continued (a span's token other than its last) / continue one (other than its first), read
        # from the relabel table; O only begins and ends (an O segment is as good split up)
        roles = torch.zeros(num_labels, 4, dtype=torch.bool)  # begins, ends, continued, continues
        for kind, row in enumerate(span_labels.relabel):
            for code, label in enumerate(row):
                if label < 0:
                    continue
                begins, ends = bool(code & 4), bool(code & 2)
                roles[label, 0] |= begins
                roles[label, 1] |= ends
                roles[label, 2] |= kind > 0 and not ends
                roles[label, 3] |= kind > 0 and not begins
        # the comparison decides only where no label both begins and continues a segment (IOB1's I-
        # does both: there the argmax's prefixes segment, as its type changes do)
        self.boundary_scores = not bool((roles[:, 0] & roles[:, 3]).any())
        # labels grouped by their roles, so that each label's score enters one maximum
        self.groups = []
        for signature in sorted({tuple(r) for r in roles.tolist() if any(r)}):
            index = (roles == torch.tensor(signature)).all(1).nonzero().view(-1)
            self.register_buffer(f"group_{len(self.groups)}", index, persistent=False)
            self.groups.append(signature)
        relabel = torch.tensor(span_labels.relabel, dtype=torch.long)  # (C + 1, 8)
        self.register_buffer("relabel", relabel.view(-1), persistent=False)
        self.num_types = relabel.size(0)
        # the first relabel code of each candidate type, leading: (C + 1, 1, 1)
        self.register_buffer("candidates", torch.arange(0, self.num_types * _CODES, _CODES).view(-1, 1, 1), persistent=False)
        # whether some type lacks a label it may need (then it must never be chosen there)
        self.has_missing = bool((relabel < 0).any())
        self.type_change_splits = span_labels.type_change_splits
        # whether following a segment of the same type changes any label (IOB1's B-)
        self.uses_follows = bool((relabel[:, 0::2] != relabel[:, 1::2]).any())

    def forward(self, scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The labels `(batch, seq)` for scores `(batch, seq, L)` and mask `(batch, seq)`, zero at padding."""
        return self.label_major(scores.permute(2, 0, 1).contiguous(), mask)

    def _best_of_kind(self, scores: torch.Tensor, name: str):
        """The best score `(batch, seq)` among the labels of one kind, or None when it has none."""
        index = getattr(self, f"kind_{name}")
        if index is None:
            return None
        return scores.index_select(0, index).amax(0)

    def label_major(self, scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """
        `forward` for label-major scores `(L, batch, seq)` (any strides): every reduction over the
        labels or over the candidate types then runs elementwise over the positions (PyTorch's CPU
        reductions over a short last dimension are several times slower).
        """
        _, batch, length = scores.shape
        if length == 0:
            return mask.new_zeros(batch, 0, dtype=torch.long)
        scores = scores.detach()
        # 1. segments; every padded position is a segment of its own, so that padding never joins
        # (or scores for) a real token's segment
        if self.never is not None:
            scores = scores.masked_fill(self.never.view(-1, 1, 1), torch.finfo(scores.dtype).min)
        if self.type_change_splits or self.uses_follows or not self.boundary_scores:
            best_labels = first_max_label(scores)  # (batch, seq)
            token_type = lookup(self.types, best_labels)
        if self.boundary_scores:
            # a boundary between t - 1 and t where the best label that may end a segment at t - 1
            # plus the best that may begin one at t score at least the best continued + continuing pair
            group_best = [scores.index_select(0, getattr(self, f"group_{g}")).amax(0) for g in range(len(self.groups))]
            role_best = [[best for best, roles in zip(group_best, self.groups) if roles[role]] for role in range(4)]
            split = _pair_scores(role_best[1], role_best[0], mask) >= _pair_scores(role_best[2], role_best[3], mask)
        else:
            # from the argmax's prefixes
            split = lookup(self.starts, best_labels[:, 1:]) | lookup(self.stops, best_labels[:, :-1])
        split = split | ~mask[:, 1:]
        if self.type_change_splits:
            split = split | (token_type[:, 1:] != token_type[:, :-1])
        first = torch.ones_like(mask[:, :1])
        begins = torch.cat([first, split], dim=1)
        code = begins * 4 + torch.cat([split, first], dim=1) * 2  # begins · 4 + ends · 2 (int64)

        # 2. each candidate type's label at each token, and its score; the segment totals.
        # Candidates lead, (C + 1, batch, seq): the choice among them is elementwise.
        flat = self.candidates + code
        if self.uses_follows:
            previous_type = torch.cat([token_type.new_full((batch, 1), -1), token_type[:, :-1]], dim=1)
            flat = flat + (begins & (previous_type * _CODES == self.candidates))
        labels = lookup(self.relabel, flat)  # (C + 1, batch, seq); -1: the label set has none
        if self.has_missing:
            candidate_scores = scores.gather(0, labels.clamp_min(0))
            # finite scores keep every total finite, so a type lacking a label (-inf) loses to
            # every other; NaN stays NaN under clamp (nan_to_num is slow on the CPU)
            bound = torch.finfo(scores.dtype).max / (4 * length)
            candidate_scores = candidate_scores.clamp(-bound, bound)
            candidate_scores = candidate_scores.masked_fill(candidate_scores.isnan(), -bound)
            candidate_scores = candidate_scores.masked_fill(labels < 0, float("-inf"))
        else:
            # every type has every label it may need: whatever type a segment takes, even from
            # NaN or infinite totals, its labels are valid, so the scores need no guard
            candidate_scores = scores.gather(0, labels)
        segment = begins.long().cumsum(1) - 1  # (batch, seq); int64 first: ONNX CumSum takes no bool
        totals = torch.zeros_like(candidate_scores).scatter_add(2, segment.expand_as(candidate_scores), candidate_scores)
        segment_type = first_max_label(totals)  # (batch, seq): the type of segment k at position k

        # 3. labels under the chosen types
        chosen = segment_type.gather(1, segment)
        code = code + chosen * _CODES
        if self.uses_follows:
            previous_chosen = torch.cat([chosen.new_full((batch, 1), -1), chosen[:, :-1]], dim=1)
            code = code + (begins & (previous_chosen == chosen))
        return lookup(self.relabel, code).masked_fill(~mask, 0)


def _pair_scores(left, right, mask):
    """
    `max(left)[:, t - 1] + max(right)[:, t]` for every boundary `t`, `(batch, seq - 1)`, where `left`
    and `right` are lists of `(batch, seq)` scores; -inf where a list is empty (no such label).
    """
    if not left or not right:
        return torch.full(mask[:, 1:].shape, float("-inf"), device=mask.device)
    return _maximum(left)[:, :-1] + _maximum(right)[:, 1:]


def _maximum(tensors):
    """The elementwise maximum of a non-empty list of tensors."""
    result = tensors[0]
    for tensor in tensors[1:]:
        result = torch.maximum(result, tensor)
    return result


def lookup(table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """
    `table[index]` for a 1-d `table` (`index_select`: several times faster than indexing on CPU).
    Traced for export it is plain indexing (ONNX `Gather`): the flatten-and-reshape would put a
    computed size in a `Reshape`, which reads a size of 0 (a batch of one-word sentences) as "keep".
    """
    if torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():
        return table[index]
    return table.index_select(0, index.reshape(-1)).view(index.shape)


def first_max_label(scores: torch.Tensor) -> torch.Tensor:
    """
    `scores.argmax(0)` (the first maximum) for label-major scores `(L, ...)`, as a long tensor: the
    smallest `label + L · step`, `step` 0 at a maximum and 1 elsewhere. Label-major, each reduction
    is elementwise over the positions; PyTorch's CPU `argmax` over 17 labels is several times slower
    either way round. Equal to `argmax` wherever no score is NaN (+inf and -inf included); where
    some are NaN, an index all the same.
    """
    num_labels = scores.size(0)
    labels = torch.arange(num_labels, dtype=scores.dtype, device=scores.device).view(-1, *([1] * (scores.dim() - 1)))
    # max − score is ≥ 0 and zero exactly at the maxima; NaN (inf − inf) only at an infinite maximum
    steps = (scores.amax(0) - scores).sign().nan_to_num(0.0)
    return torch.add(labels, steps, alpha=num_labels).amin(0).long()
