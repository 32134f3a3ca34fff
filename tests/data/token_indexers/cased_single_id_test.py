from collections import defaultdict

import pytest
from allennlp.common import Params
from allennlp.data import Token, TokenIndexer, Vocabulary

from allennlp_ain.data.token_indexers import CasedSingleIdTokenIndexer


def _vocab() -> Vocabulary:
    vocab = Vocabulary()
    for word in ["Apple", "apple", "obama", "The"]:
        vocab.add_token_to_namespace(word, "tokens")
    return vocab


def test_known_words_keep_their_case_and_unknown_words_fall_back_to_lowercase():
    vocab = _vocab()
    indexer = TokenIndexer.from_params(Params({"type": "ain_cased_single_id"}))
    assert isinstance(indexer, CasedSingleIdTokenIndexer)
    words = ["Apple", "apple", "APPLE", "Obama", "the", "The", "Zanzibar"]
    ids = indexer.tokens_to_indices([Token(w) for w in words], vocab)["tokens"]
    index = lambda w: vocab.get_token_index(w, "tokens")  # noqa: E731
    oov = index(vocab._oov_token)
    assert ids == [index("Apple"), index("apple"), index("apple"), index("obama"), oov, index("The"), oov]
    assert len(set(ids[:2])) == 2 and oov not in ids[:4]


def test_the_vocabulary_counts_words_as_written():
    counter = defaultdict(lambda: defaultdict(int))
    indexer = CasedSingleIdTokenIndexer()
    for word in ["Apple", "apple", "Apple"]:
        indexer.count_vocab_items(Token(word), counter)
    assert dict(counter["tokens"]) == {"Apple": 2, "apple": 1}


def test_start_and_end_tokens_are_indexed_too():
    vocab = _vocab()
    indexer = CasedSingleIdTokenIndexer(start_tokens=["The"], end_tokens=["APPLE"])
    ids = indexer.tokens_to_indices([Token("Obama")], vocab)["tokens"]
    assert ids == [vocab.get_token_index(w, "tokens") for w in ["The", "obama", "apple"]]


def test_lowercase_tokens_is_refused_with_a_pointer_to_single_id():
    with pytest.raises(ValueError, match="keeps case.*single_id"):
        TokenIndexer.from_params(Params({"type": "ain_cased_single_id", "lowercase_tokens": True}))
    # an explicit `false` is accepted: an override that swaps `single_id` for this indexer
    # merges into a block that still says `lowercase_tokens`
    indexer = TokenIndexer.from_params(Params({"type": "ain_cased_single_id", "lowercase_tokens": False}))
    assert indexer.tokens_to_indices([Token("Apple")], _vocab())["tokens"] == [_vocab().get_token_index("Apple")]
