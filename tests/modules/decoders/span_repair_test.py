"""
The parallel valid decoding (`span_repair`) against a step-by-step reference of its rule written
here, against validity checked transition by transition, and against exact constrained decoding
(brute force over every label sequence) where the rule says they agree: whenever the argmax is valid.
"""
import itertools

import pytest
import torch

from allennlp_ain import tag_schemes
from allennlp_ain.modules.decoders import MaxEnt, MeanField
from allennlp_ain.modules.decoders.constraints import constraint_masks
from allennlp_ain.modules.decoders.span_repair import SpanLabels, SpanRepair
from tests.modules.decoders.brute_force import all_sequences

LABELS = {
    "BIOES": ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "E-LOC", "S-LOC", "@@UNKNOWN@@"],
    "BMES": ["O", "B-PER", "M-PER", "E-PER", "S-PER", "S-LOC"],
    "BIO": ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"],
    "IOB1": ["O", "I-PER", "B-PER", "I-LOC"],
}
# the BIOES set has no I-LOC (LOC spans of three or more tokens cannot be written) and an
# @@UNKNOWN@@ label that is never allowed; the IOB1 set has no B-LOC


def setup(scheme):
    labels = dict(enumerate(LABELS[scheme]))
    constraints = tag_schemes.allowed_transitions(scheme, labels)
    return labels, constraints, tag_schemes.span_labels(scheme, labels)


def is_valid(sequence, constraints, num_labels) -> bool:
    transition, start, end = constraint_masks(num_labels, constraints)
    if not sequence:
        return True
    return bool(
        start[sequence[0]] and end[sequence[-1]] and all(transition[a, b] for a, b in zip(sequence, sequence[1:]))
    )


# which labels may begin or end a segment, and which may be continued (a span's token before its
# last) or continue one (after its first), by the prefix of the label; O begins and ends only
ROLES = {
    "BIOES": {"begins": "OBS", "ends": "OES", "continued": "BI", "continues": "IE"},
    "BMES": {"begins": "OBS", "ends": "OES", "continued": "BM", "continues": "ME"},
    "BIO": {"begins": "OB", "ends": "OBI", "continued": "BI", "continues": "I"},
}


def reference(scores, span: SpanLabels, scheme):
    """The rule of `span_repair`'s docstring for one sentence (n, L), step by step."""
    names = LABELS[scheme]
    n = len(scores)
    allowed = [label for label, kind in enumerate(span.types) if kind >= 0]
    best = [max(allowed, key=lambda label: scores[t][label]) for t in range(n)]
    kind = [span.types[label] for label in best]

    def best_score(t, role):
        chosen = [scores[t][label] for label in allowed if names[label][0] in ROLES[scheme][role]]
        return max(chosen) if chosen else float("-inf")

    def boundary(t):  # between t - 1 and t
        if scheme == "IOB1":  # from the argmax: it begins or follows an O, or the type changes
            return kind[t] == 0 or kind[t - 1] == 0 or span.opens[best[t]] or kind[t] != kind[t - 1]
        ending = best_score(t - 1, "ends") + best_score(t, "begins")
        going_on = best_score(t - 1, "continued") + best_score(t, "continues")
        return ending >= going_on

    starts = [t for t in range(n) if t == 0 or boundary(t)]
    segments = list(zip(starts, starts[1:] + [n]))
    chosen = []
    for begin, stop in segments:
        totals = {}
        for candidate in range(len(span.relabel)):
            total = 0.0
            for t in range(begin, stop):
                follows = t == begin and t > 0 and kind[t - 1] == candidate
                label = span.relabel[candidate][(t == begin) * 4 + (t == stop - 1) * 2 + follows]
                if label < 0:
                    total = None
                    break
                total += scores[t][label]
            if total is not None:
                totals[candidate] = total
        chosen.append(max(totals, key=totals.get))
    tags, previous = [], None
    for (begin, stop), candidate in zip(segments, chosen):
        for t in range(begin, stop):
            follows = t == begin and previous == candidate
            tags.append(span.relabel[candidate][(t == begin) * 4 + (t == stop - 1) * 2 + follows])
        previous = candidate
    return tags, best


def random_problem(num_labels, seed, batch=6, length=7):
    generator = torch.Generator().manual_seed(seed)
    scores = torch.randn(batch, length, num_labels, generator=generator) * 3
    lengths = torch.randint(0, length + 1, (batch,), generator=generator)
    lengths[0] = length
    mask = torch.arange(length).unsqueeze(0) < lengths.unsqueeze(1)
    return scores, mask


@pytest.mark.parametrize("scheme", sorted(LABELS))
@pytest.mark.parametrize("seed", range(25))
def test_valid_and_equal_to_the_step_by_step_reference(scheme, seed):
    labels, constraints, span = setup(scheme)
    scores, mask = random_problem(len(labels), seed)
    tags = SpanRepair(span)(scores, mask)
    for row in range(scores.size(0)):
        n = int(mask[row].sum())
        expected, argmax = reference(scores[row, :n].tolist(), span, scheme)
        assert tags[row, :n].tolist() == expected
        assert tags[row, n:].eq(0).all()
        assert is_valid(expected, constraints, len(labels)), [labels[t] for t in expected]
        if is_valid(argmax, constraints, len(labels)):
            assert expected == argmax


@pytest.mark.parametrize("scheme", sorted(LABELS))
def test_equals_exact_constrained_decoding_wherever_the_argmax_is_valid(scheme):
    labels, constraints, span = setup(scheme)
    num_labels = len(labels)
    transition, start, end = constraint_masks(num_labels, constraints)
    length = 4
    sequences = all_sequences(length, num_labels)
    valid = torch.tensor([is_valid(s.tolist(), constraints, num_labels) for s in sequences])
    agreed = 0
    generator = torch.Generator().manual_seed(5)
    valid_sequences = sequences[valid]
    for seed in range(40):
        # random scores leaning towards a random valid sequence, so that the argmax is valid now and then
        scores, _ = random_problem(num_labels, seed, batch=1, length=length)
        target = valid_sequences[torch.randint(len(valid_sequences), (1,), generator=generator)][0]
        scores[0, torch.arange(length), target] += 4.0 * torch.rand(length, generator=generator)
        log_probs = torch.log_softmax(scores[0], -1)
        totals = log_probs[torch.arange(length), sequences].sum(1).masked_fill(~valid, float("-inf"))
        exact = sequences[totals.argmax()].tolist()
        argmax = scores[0].argmax(-1).tolist()
        tags = SpanRepair(span)(scores, torch.ones(1, length, dtype=torch.bool))[0].tolist()
        assert is_valid(tags, constraints, num_labels)
        if is_valid(argmax, constraints, num_labels):
            assert tags == exact == argmax
            agreed += 1
    assert 5 <= agreed < 40  # the comparison was made, and there was something to repair


@pytest.mark.parametrize("scheme", sorted(LABELS))
def test_valid_whatever_the_scores(scheme):
    labels, constraints, span = setup(scheme)
    generator = torch.Generator().manual_seed(0)
    scores = torch.randn(64, 9, len(labels), generator=generator) * 1e4
    special = torch.rand(scores.shape, generator=generator)
    scores[special < 0.1] = float("-inf")
    scores[(special >= 0.1) & (special < 0.15)] = float("inf")
    scores[(special >= 0.15) & (special < 0.2)] = float("nan")
    scores[:4] = 0.0  # ties everywhere
    scores[4:8] = float("nan")
    mask = torch.ones(64, 9, dtype=torch.bool)
    mask[32:, 5:] = False
    tags = SpanRepair(span)(scores, mask)
    for row in range(64):
        n = int(mask[row].sum())
        assert is_valid(tags[row, :n].tolist(), constraints, len(labels)), [labels[t] for t in tags[row, :n].tolist()]


def test_every_pair_of_tags_in_bioes_is_repaired_as_stated():
    labels, constraints, span = setup("BIOES")
    index = {label: i for i, label in enumerate(LABELS["BIOES"])}
    cases = {
        ("B-PER", "I-PER", "O"): ("B-PER", "E-PER", "O"),  # a span without its end
        ("O", "I-PER", "E-PER"): ("O", "B-PER", "E-PER"),  # a span without its beginning
        ("E-PER", "E-PER"): ("S-PER", "S-PER"),  # an end after an end: two spans (S-PER beats O)
        ("O", "S-LOC", "O"): ("O", "S-LOC", "O"),  # valid: unchanged
    }
    for argmax, expected in cases.items():
        scores = torch.full((1, len(argmax), len(labels)), -5.0)
        scores[0, :, index["S-PER"]] = -1.0
        for t, label in enumerate(argmax):
            scores[0, t, index[label]] = 5.0
        tags = SpanRepair(span)(scores, torch.ones(1, len(argmax), dtype=torch.bool))
        assert [LABELS["BIOES"][t] for t in tags[0].tolist()] == list(expected)


def test_a_boundary_goes_where_its_two_tokens_score_it_better():
    labels, constraints, span = setup("BIOES")
    index = {label: i for i, label in enumerate(LABELS["BIOES"])}

    def repair(*tokens):
        scores = torch.full((1, len(tokens), len(labels)), -9.0)
        for t, token in enumerate(tokens):
            for label, score in token.items():
                scores[0, t, index[label]] = score
        return [LABELS["BIOES"][t] for t in SpanRepair(span)(scores, torch.ones(1, len(tokens), dtype=torch.bool))[0]]

    # B-PER then O: joined when B-PER's lead over S-PER (3) beats O's lead over E-PER (1) ...
    assert repair({"B-PER": 5.0, "S-PER": 2.0}, {"O": 4.0, "E-PER": 3.0}) == ["B-PER", "E-PER"]
    # ... cut when it does not (then the lone token takes its best single label)
    assert repair({"B-PER": 5.0, "S-PER": 4.5}, {"O": 4.0, "E-PER": 1.0}) == ["S-PER", "O"]
    # S-PER I-PER E-PER: one span when continuing at the first token costs less than beginning at the second
    assert repair({"S-PER": 5.0, "B-PER": 4.8}, {"I-PER": 5.0, "B-PER": 1.0}, {"E-PER": 5.0}) == ["B-PER", "I-PER", "E-PER"]
    assert repair({"S-PER": 5.0, "B-PER": 1.0}, {"I-PER": 5.0, "B-PER": 4.8}, {"E-PER": 5.0}) == ["S-PER", "B-PER", "E-PER"]


def test_a_type_conflict_inside_a_span_takes_the_better_type_for_the_whole_span():
    labels, constraints, span = setup("BIOES")
    index = {label: i for i, label in enumerate(LABELS["BIOES"])}
    scores = torch.full((1, 2, len(labels)), -5.0)
    scores[0, 0, index["B-PER"]] = 3.0  # B-PER E-LOC: one span; PER scores 3 + 1, LOC 0 + 2
    scores[0, 0, index["B-LOC"]] = 0.0
    scores[0, 1, index["E-LOC"]] = 2.0
    scores[0, 1, index["E-PER"]] = 1.0
    tags = SpanRepair(span)(scores, torch.ones(1, 2, dtype=torch.bool))
    assert [LABELS["BIOES"][t] for t in tags[0].tolist()] == ["B-PER", "E-PER"]


@pytest.mark.parametrize("decoder_class", [MaxEnt, MeanField])
@pytest.mark.parametrize("scheme", ["BIOES", "BIO"])
def test_decoders_decode_in_parallel_with_span_labels_and_exactly_without(decoder_class, scheme):
    labels, constraints, span = setup(scheme)
    scores, mask = random_problem(len(labels), 7, batch=16, length=8)
    parallel = decoder_class(len(labels), constraints=constraints, span_labels=span)
    viterbi = decoder_class(len(labels), constraints=constraints, span_labels=span, valid_decoding="viterbi")
    no_table = decoder_class(len(labels), constraints=constraints)
    unconstrained = decoder_class(len(labels), span_labels=span)
    assert parallel.span_repair is not None and viterbi.span_repair is None and no_table.span_repair is None
    inference = parallel.infer(scores, mask)
    expected = SpanRepair(span)(parallel._scores(inference), mask)
    assert torch.equal(inference.tags, expected)
    torch.testing.assert_close(viterbi.decode(scores, mask), no_table.decode(scores, mask), rtol=0, atol=0)
    argmax = unconstrained.decode(scores, mask)
    for decoder in (parallel, viterbi):
        tags = decoder.decode(scores, mask)
        for row in range(16):
            n = int(mask[row].sum())
            assert is_valid(tags[row, :n].tolist(), constraints, len(labels))
            if is_valid(argmax[row, :n].tolist(), constraints, len(labels)):
                assert tags[row, :n].tolist() == argmax[row, :n].tolist()
    # the distribution is the unconstrained one: constraints change decoding only
    torch.testing.assert_close(parallel.marginals(scores, mask), unconstrained.marginals(scores, mask))


def test_a_sentence_decodes_the_same_in_any_batch():
    labels, constraints, span = setup("BIOES")
    scores, mask = random_problem(len(labels), 11, batch=12, length=10)
    repair = SpanRepair(span)
    together = repair(scores, mask)
    for row in range(12):
        n = int(mask[row].sum())
        alone = repair(scores[row : row + 1, :n], mask[row : row + 1, :n])
        assert together[row, :n].tolist() == alone[0].tolist()


def test_label_sets_that_cannot_label_every_span_are_refused_and_decoders_fall_back():
    labels = dict(enumerate(["B-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC"]))  # no O, no I-PER, no S-LOC
    span = tag_schemes.span_labels("BIOES", labels)
    assert not span.complete
    with pytest.raises(ValueError, match="no type can label every segment"):
        SpanRepair(span)
    constraints = tag_schemes.allowed_transitions("BIOES", labels)
    decoder = MaxEnt(len(labels), constraints=constraints, span_labels=span)
    assert decoder.span_repair is None
    scores, mask = random_problem(len(labels), 3)
    tags = decoder.decode(scores, mask)
    for row in range(scores.size(0)):
        assert is_valid(tags[row, : int(mask[row].sum())].tolist(), constraints, len(labels))


def test_span_labels_of_the_schemes():
    span = tag_schemes.span_labels("BIOES", dict(enumerate(["O", "B-PER", "I-PER", "E-PER", "S-PER", "U-LOC"])))
    assert span.types == [0, 2, 2, 2, 2, 1]
    assert span.opens == [True, True, False, False, True, True]
    assert span.closes == [True, False, False, True, True, True]
    # PER: begins·4 + ends·2 + follows_same → I, I, E, E, B, B, S, S
    assert span.relabel[2] == [2, 2, 3, 3, 1, 1, 4, 4]
    assert span.relabel[1] == [-1, -1, -1, -1, -1, -1, 5, 5]
    iob1 = tag_schemes.span_labels("IOB1", dict(enumerate(["O", "I-PER", "B-PER"])))
    assert iob1.type_change_splits and iob1.relabel[1] == [1, 1, 1, 1, 1, 2, 1, 2]
    assert list(itertools.chain(*tag_schemes.span_labels("BIO", {0: "O"}).relabel)) == [0] * 8


@pytest.mark.parametrize("name", ["crf", "maxent", "mfvi"])
@pytest.mark.parametrize("valid_decoding", ["parallel", "viterbi"])
def test_the_contract_decode_is_valid_under_the_constraints_whatever_the_potentials(name, valid_decoding):
    """Extreme, infinite and NaN scores and parameters: `decode` of a constrained decoder stays valid."""
    from allennlp_ain.modules.decoders import SequenceDecoder

    labels, constraints, span = setup("BIOES")
    kwargs = {} if name == "crf" else {"span_labels": span, "valid_decoding": valid_decoding}
    decoder = SequenceDecoder.by_name(name)(len(labels), constraints=constraints, **kwargs)
    generator = torch.Generator().manual_seed(1)
    for scale in (1.0, 1e5, 1e30):
        for parameter in decoder.parameters():
            with torch.no_grad():
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * scale)
        scores = torch.randn(40, 9, len(labels), generator=generator) * scale
        special = torch.rand(scores.shape, generator=generator)
        scores[special < 0.05] = float("-inf")
        scores[(special >= 0.05) & (special < 0.1)] = float("inf")
        scores[(special >= 0.1) & (special < 0.12)] = float("nan")
        mask = torch.ones(40, 9, dtype=torch.bool)
        mask[20:, 4:] = False
        with torch.no_grad():
            tags = decoder.decode(scores, mask)
        for row in range(40):
            n = int(mask[row].sum())
            assert is_valid(tags[row, :n].tolist(), constraints, len(labels)), (scale, [labels[t] for t in tags[row, :n].tolist()])
