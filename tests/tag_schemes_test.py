import itertools
import random

import pytest
from allennlp.modules.conditional_random_field import allowed_transitions as allennlp_allowed_transitions
from seqeval.metrics.sequence_labeling import get_entities

from allennlp_ain.tag_schemes import (
    SCHEMES,
    allowed_transitions,
    check_label_vocabulary,
    check_scheme,
    convert,
    extract_spans,
    invalid_transitions,
    spans_to_tags,
    tag_error,
    tags_to_spans,
)

# One sentence in every scheme: PER(0-1), LOC(3), LOC(4) right after it, ORG(6-8), MISC(9).
IOB1 = ["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "O", "I-ORG", "I-ORG", "I-ORG", "I-MISC"]
BIO = ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "O", "B-ORG", "I-ORG", "I-ORG", "B-MISC"]
BIOES = ["B-PER", "E-PER", "O", "S-LOC", "S-LOC", "O", "B-ORG", "I-ORG", "E-ORG", "S-MISC"]
BMES = ["B-PER", "E-PER", "O", "S-LOC", "S-LOC", "O", "B-ORG", "M-ORG", "E-ORG", "S-MISC"]
SPANS = [("PER", 0, 1), ("LOC", 3, 3), ("LOC", 4, 4), ("ORG", 6, 8), ("MISC", 9, 9)]


def test_each_scheme_reads_the_same_spans():
    for tags, scheme in [(IOB1, "IOB1"), (BIO, "BIO"), (BIOES, "BIOES"), (BMES, "BMES")]:
        assert tags_to_spans(tags, scheme) == SPANS
        assert tags_to_spans(tags) == SPANS  # the lenient reading agrees on well-formed tags
        assert spans_to_tags(SPANS, len(tags), scheme) == tags


@pytest.mark.parametrize(
    "source_scheme, target_scheme, source, target",
    [
        ("IOB1", "BIO", IOB1, BIO),
        ("BIO", "BIOES", BIO, BIOES),
        ("IOB1", "BIOES", IOB1, BIOES),
        ("BIOES", "BMES", BIOES, BMES),
        ("IOB2", "BIOUL", BIO, BIOES),
    ],
)
def test_named_conversions_both_ways(source_scheme, target_scheme, source, target):
    assert convert(source, source_scheme, target_scheme) == target
    assert convert(target, target_scheme, source_scheme) == source


def _random_spans(rng, length, types=("A", "B")):
    spans, position = [], 0
    while position < length:
        if rng.random() < 0.4:
            end = min(length - 1, position + rng.randrange(3))
            spans.append((rng.choice(types), position, end))
            position = end + 1
        else:
            position += 1
    return spans


def test_random_round_trips_between_every_pair_of_schemes():
    pairs = list(itertools.permutations(SCHEMES, 2))
    assert set(SCHEMES) == {"IOB1", "BIO", "BIOES", "BMES"} and len(pairs) == 12
    rng = random.Random(0)
    for _ in range(500):
        length = rng.randrange(1, 12)
        spans = _random_spans(rng, length)
        for source, target in pairs:
            tags = spans_to_tags(spans, length, source)
            converted = convert(tags, source, target)
            assert tags_to_spans(converted, target) == spans
            assert convert(converted, target, source) == tags


def test_ill_formed_sequences_are_read_like_conlleval():
    # a stray I- after O starts a span in BIO; a B- after O starts one in IOB1
    assert convert(["O", "I-PER", "I-PER", "I-LOC"], "BIO", "BIOES") == ["O", "B-PER", "E-PER", "S-LOC"]
    assert convert(["O", "B-PER", "I-PER"], "IOB1", "BIO") == ["O", "B-PER", "I-PER"]
    assert tags_to_spans(["B-X", "I-Y", "E-Y", "I-X"], "BIOES") == [("X", 0, 0), ("Y", 1, 2), ("X", 3, 3)]


def test_tags_a_scheme_does_not_allow():
    assert tag_error("O", "BIO") is None
    assert tag_error("B-PER", "BIO") is None
    assert "X-PER" in tag_error("X-PER", "BIO")
    assert "'S'" in tag_error("S-PER", "BIO")
    assert tag_error("S-PER", "BIOES") is None
    assert "expected" in tag_error("PER", "IOB1")
    assert tag_error("B-", "BIO") is not None
    with pytest.raises(ValueError, match="X-PER"):
        convert(["O", "X-PER"], "BIO", "BIOES")


def test_scheme_names():
    assert check_scheme("iob2") == "BIO"
    assert check_scheme("bioes") == "BIOES"
    assert check_scheme("BIOUL") == "BIOES" and check_scheme("bioul") == "BIOES"
    assert check_scheme("bmes") == "BMES" and check_scheme("Iob1") == "IOB1"
    with pytest.raises(ValueError, match=r"Unknown tag scheme 'BILOU'.*IOB1, BIO, BIOES, BMES.*IOB2 = BIO, BIOUL = BIOES"):
        check_scheme("BILOU")


def test_bioul_letters_are_read_as_bioes_and_written_as_s_and_e():
    bioul = ["B-PER", "I-PER", "L-PER", "O", "U-LOC"]
    assert tag_error("U-LOC", "BIOES") is None and tag_error("L-PER", "bioul") is None
    assert tags_to_spans(bioul, "BIOUL") == tags_to_spans(bioul, "BIOES") == [("PER", 0, 2), ("LOC", 4, 4)]
    assert convert(bioul, "BIOUL", "BIOES") == ["B-PER", "I-PER", "E-PER", "O", "S-LOC"]
    assert spans_to_tags([("LOC", 0, 0)], 1, "BIOUL") == ["S-LOC"]
    assert tag_error("U-LOC", "BIO") is not None and tag_error("L-LOC", "BMES") is not None


def test_bmes_tags():
    assert tag_error("M-X", "BMES") is None and tag_error("O", "BMES") is None
    assert "'I'" in tag_error("I-X", "BMES")
    assert "'M'" in tag_error("M-X", "BIOES")
    assert convert(["B-W", "M-W", "E-W", "S-W", "O"], "BMES", "BIO") == ["B-W", "I-W", "I-W", "B-W", "O"]


def _random_tags(rng, prefixes="BIESO"):
    types = ["PER", "LOC", "ORG"][: rng.choice([2, 3])]
    tags = []
    for _ in range(rng.randrange(13)):
        prefix = rng.choice(prefixes)
        tags.append("O" if prefix == "O" else f"{prefix}-{rng.choice(types)}")
    return tags


def test_the_span_reader_agrees_with_seqeval_on_random_sequences():
    # seqeval's get_entities is conlleval's chunker (with S- and E- added); ill-formed sequences
    # (I- after O, E- without B-, B- B- of one type...) are most of these. No case disagrees.
    rng = random.Random(0)
    for _ in range(800):
        tags = _random_tags(rng)
        assert tags_to_spans(tags) == get_entities(tags), tags
        assert tags_to_spans(tags, "BIOES") == get_entities(tags), tags  # strict reads the same way


def test_the_lenient_reader_reads_every_prefix_letter_by_its_role():
    rng = random.Random(1)
    as_seqeval = {"U": "S", "L": "E", "M": "I"}
    for _ in range(300):
        tags = _random_tags(rng, prefixes="BIESOULM")
        renamed = [as_seqeval.get(t[0], t[0]) + t[1:] for t in tags]
        assert tags_to_spans(tags) == get_entities(renamed), tags


def test_the_lenient_reader_on_invalid_bioes_predictions():
    # what benchmarks/invalid_bioes.py scores: spans are read from invalid sequences, as conlleval does
    assert tags_to_spans(["B-PER", "E-PER", "O", "S-LOC"]) == [("PER", 0, 1), ("LOC", 3, 3)]
    assert tags_to_spans(["I-PER", "I-PER", "B-LOC", "O", "E-ORG"]) == [("PER", 0, 1), ("LOC", 2, 2), ("ORG", 4, 4)]
    assert tags_to_spans(["B-PER", "E-PER", "I-PER", "E-LOC"]) == [("PER", 0, 1), ("PER", 2, 2), ("LOC", 3, 3)]


def test_labels_without_a_span_prefix_are_one_token_spans_when_lenient():
    tags = ["B-PER", "@@UNKNOWN@@", "@@UNKNOWN@@", "O", "X-PER", "B-", "@@PADDING@@"]
    assert tags_to_spans(tags) == [
        ("PER", 0, 0),
        ("@@UNKNOWN@@", 1, 1),
        ("@@UNKNOWN@@", 2, 2),
        ("X-PER", 4, 4),
        ("B-", 5, 5),
        ("@@PADDING@@", 6, 6),
    ]
    with pytest.raises(ValueError, match="@@UNKNOWN@@"):
        tags_to_spans(tags, "BIO")


def test_invalid_transitions_per_sentence_as_the_benchmark_counts_them():
    # benchmarks/invalid_bioes.py sums these: START and END count as transitions
    sentences = [["B-PER", "E-PER", "O"], ["I-PER", "O"], ["B-PER", "E-LOC"], ["S-LOC"]]
    assert [invalid_transitions(tags, "BIOES") for tags in sentences] == [0, 2, 1, 0]  # 2 invalid sentences, 3 errors


def test_extract_spans_reads_every_encoding():
    # moved from the predictor's tests, where extract_spans lived
    assert extract_spans(["B-PER", "I-PER", "O", "B-LOC"], "BIO") == [("PER", 0, 2), ("LOC", 3, 4)]
    assert extract_spans(["I-PER", "I-PER", "B-PER", "O"], "IOB1") == [("PER", 0, 2), ("PER", 2, 3)]
    assert extract_spans(["B-PER", "E-PER", "S-LOC", "O"], "BIOES") == [("PER", 0, 2), ("LOC", 2, 3)]
    assert extract_spans(["B-PER", "L-PER", "U-LOC", "O"], "BIOUL") == [("PER", 0, 2), ("LOC", 2, 3)]
    assert extract_spans(["B-PER", "M-PER", "E-PER", "S-LOC"], "BMES") == [("PER", 0, 3), ("LOC", 3, 4)]
    assert extract_spans(["O", "O"], "BIO") == []


def test_extract_spans_has_exclusive_ends():
    assert extract_spans(["B-PER", "L-PER", "U-LOC", "O"], "BIOUL") == [("PER", 0, 2), ("LOC", 2, 3)]
    assert extract_spans(["B-PER", "M-PER", "E-PER", "S-LOC"], "BMES") == [("PER", 0, 3), ("LOC", 3, 4)]
    assert extract_spans(["I-PER", "I-PER", "B-PER", "O"]) == [("PER", 0, 2), ("PER", 2, 3)]
    with pytest.raises(ValueError, match="Unknown tag scheme"):
        extract_spans(["O"], "XYZ")


BIOES_LABELS = {0: "O", 1: "B-PER", 2: "I-PER", 3: "E-PER", 4: "S-PER", 5: "B-LOC", 6: "E-LOC", 7: "@@UNKNOWN@@"}
BIO_LABELS = {0: "O", 1: "B-PER", 2: "I-PER", 3: "B-LOC", 4: "I-LOC", 5: "@@UNKNOWN@@"}
IOB1_LABELS = {0: "O", 1: "I-PER", 2: "B-PER", 3: "I-LOC", 4: "@@UNKNOWN@@"}


def label_constraints(label_encoding, labels):
    """`allennlp_ain.modules.decoders.constraints.label_constraints` as it was when
    `allowed_transitions` replaced it (commit 0484f57), kept here as the reference."""
    encoding = label_encoding.upper()
    if encoding == "BIOES":
        renamed = {}
        for index, label in labels.items():
            prefix, sep, rest = label.partition("-")
            renamed[index] = {"S": "U", "E": "L"}.get(prefix, prefix) + sep + rest if sep else label
        labels, encoding = renamed, "BIOUL"
    return allennlp_allowed_transitions(encoding, labels)


@pytest.mark.parametrize(
    "scheme, labels", [("BIOES", BIOES_LABELS), ("BIO", BIO_LABELS), ("IOB1", IOB1_LABELS)]
)
def test_allowed_transitions_are_those_of_the_decoder_constraints(scheme, labels):
    assert allowed_transitions(scheme, labels) == label_constraints(scheme, labels)
    assert allowed_transitions(scheme.lower(), labels) == label_constraints(scheme, labels)


def test_allowed_transitions_of_aliases_and_bmes():
    bioul = {i: {"S": "U", "E": "L"}.get(label[0], label[0]) + label[1:] for i, label in BIOES_LABELS.items()}
    assert allowed_transitions("BIOUL", bioul) == allowed_transitions("BIOES", BIOES_LABELS)
    assert allowed_transitions("BIOUL", BIOES_LABELS) == allowed_transitions("BIOES", BIOES_LABELS)
    # without O, BMES is AllenNLP's BMES; with O, O behaves as in BIOES (AllenNLP's BMES forbids it)
    bmes = {0: "B-W", 1: "M-W", 2: "E-W", 3: "S-W", 4: "S-X"}
    assert allowed_transitions("BMES", bmes) == allennlp_allowed_transitions("BMES", bmes)
    bmes_o = {**bmes, 5: "O"}
    start, end = 6, 7
    allowed = set(allowed_transitions("BMES", bmes_o))
    assert {(start, 5), (5, end), (5, 5), (5, 0), (2, 5), (3, 5)} <= allowed
    assert not {(0, 5), (1, 5), (5, 1), (5, 2)} & allowed


def _invalid_by_pairs(tags, scheme, labels):
    ids = {label: i for i, label in labels.items()}
    allowed = set(allowed_transitions(scheme, labels))
    path = [len(labels), *(ids[t] for t in tags), len(labels) + 1]
    return sum((a, b) not in allowed for a, b in zip(path, path[1:]))


@pytest.mark.parametrize("scheme, labels", [("BIOES", BIOES_LABELS), ("BIO", BIO_LABELS), ("IOB1", IOB1_LABELS)])
def test_invalid_transitions_counts_what_allowed_transitions_leaves_out(scheme, labels):
    for length in range(1, 4):
        for sequence in itertools.product(labels.values(), repeat=length):
            tags = list(sequence)
            assert invalid_transitions(tags, scheme) == _invalid_by_pairs(tags, scheme, labels), tags
    assert invalid_transitions([], scheme) == 0


def test_invalid_transitions_examples():
    assert invalid_transitions(["B-PER", "E-PER", "O", "S-LOC"], "BIOES") == 0
    assert invalid_transitions(["B-PER", "L-PER", "O", "U-LOC"], "BIOUL") == 0
    assert invalid_transitions(["I-PER", "O"], "BIOES") == 2  # START -> I-PER, I-PER -> O
    assert invalid_transitions(["B-PER", "E-LOC"], "BIOES") == 1  # B-PER -> E-LOC
    assert invalid_transitions(["O", "I-PER", "I-PER"], "BIO") == 1
    assert invalid_transitions(["O", "B-PER", "B-PER", "I-PER"], "IOB1") == 1
    assert invalid_transitions(["B-W", "E-W", "O", "S-W"], "BMES") == 0


def test_check_label_vocabulary():
    check_label_vocabulary(["O", "B-PER", "I-PER", "E-PER", "S-LOC", "@@UNKNOWN@@", "@@PADDING@@"], "BIOES")
    check_label_vocabulary(["O", "B-PER", "L-PER", "U-LOC", "@@UNKNOWN@@"], "BIOUL")
    check_label_vocabulary(["O", "B-PER", "I-PER", "@@UNKNOWN@@"], "iob2")
    check_label_vocabulary(["O", "B-W", "M-W", "E-W", "S-W"], "BMES")
    with pytest.raises(ValueError, match=r"'S-LOC', 'E-PER' are not valid BIO tags"):
        check_label_vocabulary(["O", "B-PER", "S-LOC", "E-PER"], "BIO")
    many = [f"X-T{i}" for i in range(15)]
    with pytest.raises(ValueError, match=r"'X-T9' and 5 more are not valid IOB1 tags") as error:
        check_label_vocabulary(["O", *many], "IOB1")
    assert "X-T10" not in str(error.value)
    # a reader that wrote BIO, a model told BIOES: every label is a BIOES tag, but B- has no E-
    with pytest.raises(ValueError, match=r"not a BIOES label set.*B-PER without E-PER"):
        check_label_vocabulary(["O", "B-PER", "I-PER", "@@UNKNOWN@@"], "BIOES")
    with pytest.raises(ValueError, match="Unknown tag scheme"):
        check_label_vocabulary(["O"], "XYZ")


def test_overlapping_spans_are_refused():
    with pytest.raises(ValueError, match="overlap"):
        spans_to_tags([("A", 0, 2), ("B", 2, 3)], 4, "BIO")
