import random
from collections import defaultdict

import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.data import Batch, Instance, Token, TokenIndexer, Vocabulary
from allennlp.data.fields import TextField
from allennlp.data.token_indexers import SingleIdTokenIndexer
from allennlp.modules.text_field_embedders import TextFieldEmbedder

from allennlp_ain.data.token_indexers import CapitalizationIndexer
from allennlp_ain.data.token_indexers.capitalization import PATTERNS, capitalization_pattern

EXPECTED = {
    "the": "all_lower",
    "THE": "all_upper",
    "The": "initial_upper",
    "iPhone": "mixed_case",
    "1984": "numeric",
    "B52": "contains_digit",
    ",": "punctuation",
    "--": "punctuation",
    "É": "all_upper",
    "Ölfeld": "initial_upper",
    "": "other",
    # one letter is all upper, not initial upper
    "A": "all_upper",
    "I": "all_upper",
    "a": "all_lower",
    # punctuation inside a word does not change its case pattern
    "U.S.": "all_upper",
    "AT&T": "all_upper",
    "e-mail": "all_lower",
    "'Tis": "initial_upper",
    "O'Neil": "mixed_case",
    "McDonald": "mixed_case",
    "eBay": "mixed_case",
    # numbers with punctuation are numeric; with a letter they contain a digit
    "3.14": "numeric",
    "1,000": "numeric",
    "-5": "numeric",
    "$5": "numeric",
    "4th": "contains_digit",
    "COVID-19": "contains_digit",
    # unicode: other scripts, decomposed accents, titlecase digraphs, other digits
    "ölfeld": "all_lower",
    "ÖLFELD": "all_upper",
    "O\u0308lfeld": "initial_upper",  # "Ölfeld" with a combining diaeresis
    "e\u0301": "all_lower",  # "é" decomposed
    "ß": "all_lower",
    "Москва": "initial_upper",
    "МОСКВА": "all_upper",
    "Ωμέγα": "initial_upper",
    "ǅemal": "initial_upper",  # U+01C5, a titlecase letter, counts as upper case
    "ǅ": "all_upper",
    "٣": "numeric",  # Arabic-Indic three
    "²": "numeric",
    "Ⅻ": "numeric",  # a Roman numeral is a number, not a letter
    "中国": "other",  # letters without case
    "東京Tower": "initial_upper",  # the first cased letter is upper
    "$": "punctuation",
    "€": "punctuation",
    "...": "punctuation",
    "«»": "punctuation",
    " ": "other",
    "\u0301": "other",  # a lone combining mark
    "-\u0301": "punctuation",
}


@pytest.mark.parametrize("word", list(EXPECTED))
def test_each_word_has_the_pattern_written_for_it(word):
    assert capitalization_pattern(word) == EXPECTED[word]


def test_the_hand_picked_words_show_every_pattern():
    assert set(EXPECTED.values()) == set(PATTERNS) and len(PATTERNS) == 8


# The naive rule: hand-sorted characters and one predicate per pattern, each written on its own
# (no precedence), so that "exactly one holds" is a real check.
UPPER = "ABCZÉÖЖΩ"
LOWER = "abczéößжω"
UNCASED = "中あ"
DIGITS = "0179٣"
PUNCTUATION = ",.-!?'\"()$+€"
OTHER = " \t\u200b"


def _naive_patterns(text: str):
    def has(pool):
        return any(char in pool for char in text)

    cased = [char for char in text if char in UPPER + LOWER]
    letters = UPPER + LOWER + UNCASED
    initial_upper = (
        not has(DIGITS)
        and has(UPPER)
        and has(LOWER)
        and cased[0] in UPPER
        and all(char in LOWER for char in cased[1:])
    )
    holds = {
        "numeric": has(DIGITS) and not has(letters),
        "contains_digit": has(DIGITS) and has(letters),
        "all_upper": not has(DIGITS) and has(UPPER) and not has(LOWER),
        "all_lower": not has(DIGITS) and has(LOWER) and not has(UPPER),
        "initial_upper": initial_upper,
        "mixed_case": not has(DIGITS) and has(UPPER) and has(LOWER) and not initial_upper,
        "punctuation": text != "" and all(char in PUNCTUATION for char in text),
        "other": not has(DIGITS + UPPER + LOWER) and not (text and all(c in PUNCTUATION for c in text)),
    }
    return [pattern for pattern, holding in holds.items() if holding]


def test_every_string_falls_in_exactly_one_pattern_the_naive_rule_names():
    rng = random.Random(0)
    pools = [UPPER, LOWER, UNCASED, DIGITS, PUNCTUATION, OTHER]
    seen = set()
    for _ in range(3000):
        chosen = "".join(rng.sample(pools, rng.randint(1, 3)))
        text = "".join(rng.choice(chosen) for _ in range(rng.randint(0, 6)))
        naive = _naive_patterns(text)
        assert len(naive) == 1, (text, naive)
        assert capitalization_pattern(text) == naive[0], text
        seen.add(naive[0])
    assert seen == set(PATTERNS)


# 0 is padding and 1 the (unused) OOV token of the padded namespace
IDS = {pattern: 2 + i for i, pattern in enumerate(PATTERNS)}


def _field(words, **indexers) -> TextField:
    return TextField([Token(w) for w in words], indexers)


def _vocab(sentences) -> Vocabulary:
    indexers = {"caps": CapitalizationIndexer(), "tokens": SingleIdTokenIndexer()}
    return Vocabulary.from_instances(Instance({"text": _field(s, **indexers)}) for s in sentences)


def test_every_pattern_is_counted_for_every_token():
    counter = defaultdict(lambda: defaultdict(int))
    indexer = CapitalizationIndexer(namespace="caps")
    for word in ["The", "cat"]:
        indexer.count_vocab_items(Token(word), counter)
    assert list(counter["caps"].items()) == [(pattern, 2) for pattern in PATTERNS]


def test_ids_are_the_same_whatever_the_training_data(tmp_path):
    fixed = {"@@PADDING@@": 0, "@@UNKNOWN@@": 1, **IDS}
    datasets = [
        [["the"]],
        [["1984", "iPhone", ","], ["THE", "THE", "THE", "B52"]],
        [["中国", "--", "--", "--"], ["Ölfeld", "the", "The"]],
    ]
    indexer = CapitalizationIndexer()
    tokens = [Token(w) for w in ["The", "iPhone", "1984", "the"]]
    for sentences in datasets:
        vocab = _vocab(sentences)
        assert vocab.get_token_to_index_vocabulary("capitalization") == fixed
        expected = ["initial_upper", "mixed_case", "numeric", "all_lower"]
        assert indexer.tokens_to_indices(tokens, vocab) == {"tokens": [fixed[p] for p in expected]}
    vocab.save_to_files(str(tmp_path))
    assert Vocabulary.from_files(str(tmp_path)).get_token_to_index_vocabulary("capitalization") == fixed


def test_a_vocabulary_missing_a_pattern_is_an_error_not_the_oov_token():
    instances = [Instance({"text": _field(["the", "The"], caps=CapitalizationIndexer())})]
    vocab = Vocabulary.from_instances(instances, max_vocab_size={"capitalization": 3})
    indexer = CapitalizationIndexer()
    assert indexer.tokens_to_indices([Token("1984")], vocab) == {"tokens": [2]}
    with pytest.raises(ConfigurationError, match="'mixed_case' is not in the vocabulary namespace"):
        indexer.tokens_to_indices([Token("iPhone")], vocab)


def test_token_min_padding_length_pads_the_ids():
    indexer = TokenIndexer.from_params(Params({"type": "ain_capitalization", "token_min_padding_length": 5}))
    assert isinstance(indexer, CapitalizationIndexer)
    field = _field(["The", "cat"], caps=indexer)
    field.index(_vocab([["cat"]]))
    tensors = field.as_tensor(field.get_padding_lengths())
    assert tensors["caps"]["tokens"].tolist() == [IDS["initial_upper"], IDS["all_lower"], 0, 0, 0]
    assert indexer.get_empty_token_list() == {"tokens": []}


def test_words_and_patterns_are_embedded_side_by_side_by_stock_embedders():
    sentences = [["The", "iPhone", "costs", "$", "999", "."], ["THE", "END"]]
    caps_indexer = TokenIndexer.from_params(Params({"type": "ain_capitalization"}))
    indexers = {"tokens": SingleIdTokenIndexer(), "caps": caps_indexer}
    instances = [Instance({"text": _field(s, **indexers)}) for s in sentences]
    vocab = Vocabulary.from_instances(instances)
    batch = Batch(instances)
    batch.index_instances(vocab)
    text = batch.as_tensor_dict()["text"]
    assert text["caps"]["tokens"].tolist() == [
        [IDS[p] for p in ["initial_upper", "mixed_case", "all_lower", "punctuation", "numeric", "punctuation"]],
        [IDS["all_upper"], IDS["all_upper"], 0, 0, 0, 0],
    ]
    embedder = TextFieldEmbedder.from_params(
        vocab=vocab,
        params=Params(
            {
                "token_embedders": {
                    "tokens": {"type": "embedding", "embedding_dim": 5},
                    "caps": {"type": "embedding", "embedding_dim": 8, "vocab_namespace": "capitalization"},
                }
            }
        ),
    )
    assert embedder.get_output_dim() == 13
    embedded = embedder(text)
    assert embedded.shape == (2, 6, 13)
    caps_weight = embedder._token_embedders["caps"].weight
    assert caps_weight.shape == (10, 8)
    # the embedder concatenates in sorted key order: "caps" first, then "tokens"
    assert torch.equal(embedded[0, 1, :8], caps_weight[IDS["mixed_case"]])
    assert torch.equal(embedded[1, 0, :8], embedded[1, 1, :8])  # "THE", "END": both all_upper
