import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.data import Vocabulary
from allennlp.modules.token_embedders import TokenEmbedder

from allennlp_ain.modules.token_embedders import CasedEmbedding

VECTORS = {"apple": [1.0, 2.0, 3.0], "the": [-1.0, 0.5, 0.0], "Paris": [4.0, 4.0, 4.0], "paris": [9.0, 9.0, 9.0]}


@pytest.fixture
def glove(tmp_path):
    path = tmp_path / "vectors.txt"
    path.write_text("".join(f"{w} {' '.join(map(str, v))}\n" for w, v in VECTORS.items()), encoding="utf-8")
    return path


def _vocab(words) -> Vocabulary:
    vocab = Vocabulary()
    for word in words:
        vocab.add_token_to_namespace(word, "tokens")
    return vocab


def _embedder(vocab, path, dim=3) -> CasedEmbedding:
    params = Params({"type": "ain_cased_embedding", "embedding_dim": dim, "pretrained_file": str(path)})
    embedder = TokenEmbedder.from_params(params, vocab=vocab)
    assert isinstance(embedder, CasedEmbedding)
    return embedder


def test_words_take_their_own_vector_else_the_lowercased_one(glove):
    words = ["Apple", "apple", "THE", "Paris", "PARIS", "Zanzibar"]
    vocab = _vocab(words)
    embedder = _embedder(vocab, glove)
    assert embedder.weight.shape == (vocab.get_vocab_size("tokens"), 3)
    row = lambda w: embedder.weight[vocab.get_token_index(w, "tokens")].tolist()  # noqa: E731
    assert row("Apple") == row("apple") == VECTORS["apple"]
    assert row("THE") == VECTORS["the"]
    assert row("Paris") == VECTORS["Paris"]  # the cased vector wins over the lowercased one
    assert row("PARIS") == VECTORS["paris"]
    assert row("Zanzibar") not in VECTORS.values()  # random, from the file's mean and spread
    assert embedder.weight.requires_grad
    # the two "apple" rows are separate parameters: training one leaves the other
    ids = torch.tensor([[vocab.get_token_index("Apple", "tokens")]])
    embedder(ids).sum().backward()
    assert embedder.weight.grad[vocab.get_token_index("apple", "tokens")].abs().sum() == 0
    assert embedder.weight.grad[vocab.get_token_index("Apple", "tokens")].abs().sum() > 0


def test_a_line_of_the_wrong_width_is_reported_with_file_and_line(glove):
    with pytest.raises(ConfigurationError, match=r"vectors\.txt, line 1: expected the word and 4 numbers"):
        _embedder(_vocab(["apple"]), glove, dim=4)


def test_a_file_sharing_no_word_with_the_vocabulary_is_an_error(glove):
    with pytest.raises(ConfigurationError, match="no vector for any word"):
        _embedder(_vocab(["Zanzibar"]), glove)


def test_without_a_file_it_is_allennlps_embedding():
    vocab = _vocab(["Apple"])
    embedder = TokenEmbedder.from_params(Params({"type": "ain_cased_embedding", "embedding_dim": 5}), vocab=vocab)
    assert embedder.weight.shape == (vocab.get_vocab_size("tokens"), 5)
