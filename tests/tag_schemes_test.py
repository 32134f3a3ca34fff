import itertools
import random

import pytest

from allennlp_ain.tag_schemes import (
    SCHEMES,
    check_scheme,
    convert,
    spans_to_tags,
    tag_error,
    tags_to_spans,
)

# One sentence in every scheme: PER(0-1), LOC(3), LOC(4) right after it, ORG(6-8), MISC(9).
IOB1 = ["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "O", "I-ORG", "I-ORG", "I-ORG", "I-MISC"]
BIO = ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "O", "B-ORG", "I-ORG", "I-ORG", "B-MISC"]
BIOES = ["B-PER", "E-PER", "O", "S-LOC", "S-LOC", "O", "B-ORG", "I-ORG", "E-ORG", "S-MISC"]
SPANS = [("PER", 0, 1), ("LOC", 3, 3), ("LOC", 4, 4), ("ORG", 6, 8), ("MISC", 9, 9)]


def test_each_scheme_reads_the_same_spans():
    for tags, scheme in [(IOB1, "IOB1"), (BIO, "BIO"), (BIOES, "BIOES")]:
        assert tags_to_spans(tags, scheme) == SPANS
        assert spans_to_tags(SPANS, len(tags), scheme) == tags


@pytest.mark.parametrize(
    "source_scheme, target_scheme, source, target",
    [("IOB1", "BIO", IOB1, BIO), ("BIO", "BIOES", BIO, BIOES), ("IOB1", "BIOES", IOB1, BIOES)],
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
    rng = random.Random(0)
    for _ in range(500):
        length = rng.randrange(1, 12)
        spans = _random_spans(rng, length)
        for source, target in itertools.permutations(SCHEMES, 2):
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
    with pytest.raises(ValueError, match="Unknown tag scheme"):
        check_scheme("BILOU")


def test_overlapping_spans_are_refused():
    with pytest.raises(ValueError, match="overlap"):
        spans_to_tags([("A", 0, 2), ("B", 2, 3)], 4, "BIO")
