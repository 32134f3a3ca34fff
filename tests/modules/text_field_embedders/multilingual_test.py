"""The multilingual embedder: each batch's words go through its own language's embedding."""
import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.data import Vocabulary
from allennlp.modules import TextFieldEmbedder
from allennlp.modules.token_embedders import Embedding

from allennlp_ain.modules.text_field_embedders import MultilingualEmbedder


def _embedder() -> MultilingualEmbedder:
    vocab = Vocabulary()
    vocab.add_tokens_to_namespace(["huis", "fiets"], "tokens_nl")
    vocab.add_tokens_to_namespace(["house", "bike", "rain"], "tokens_en")
    vocab.add_tokens_to_namespace(list("abcdefgh"), "token_characters")
    params = {
        "type": "ain_multilingual",
        "words": {
            "nl": {"type": "embedding", "embedding_dim": 3, "vocab_namespace": "tokens_nl"},
            "en": {"type": "embedding", "embedding_dim": 3, "vocab_namespace": "tokens_en"},
        },
        "shared": {"shared_ids": {"type": "embedding", "embedding_dim": 2, "vocab_namespace": "token_characters"}},
    }
    return TextFieldEmbedder.from_params(Params(params), vocab=vocab)


def test_each_language_has_its_own_vocabulary_and_embedding():
    embedder = _embedder()
    assert embedder.languages == ["en", "nl"] and embedder.get_output_dim() == 3 + 2
    assert embedder.words["nl"].weight.shape == (2 + 2, 3) and embedder.words["en"].weight.shape == (3 + 2, 3)


@pytest.mark.parametrize("language", ["nl", "en"])
def test_a_batch_is_embedded_by_its_languages_words_and_the_shared_embedders(language):
    embedder = _embedder()
    words = torch.tensor([[2, 3, 0], [3, 2, 1]])
    shared = torch.tensor([[4, 5, 0], [6, 7, 8]])
    batch = {f"tokens_{language}": {"tokens": words}, "shared_ids": {"tokens": shared}}
    assert embedder.language(batch) == language
    output = embedder(batch)
    expected = torch.cat([embedder.words[language].weight[words], embedder.shared["shared_ids"].weight[shared]], dim=-1)
    torch.testing.assert_close(output, expected)
    output.sum().backward()
    other = "en" if language == "nl" else "nl"
    assert embedder.words[language].weight.grad.abs().sum() > 0 and embedder.words[other].weight.grad is None
    assert embedder.shared["shared_ids"].weight.grad.abs().sum() > 0


def test_wrapped_dimensions_are_embedded_token_by_token():
    embedder = _embedder()
    words = torch.tensor([[[2, 3], [3, 0]]])
    shared = torch.tensor([[[4, 5], [6, 0]]])
    output = embedder({"tokens_nl": {"tokens": words}, "shared_ids": {"tokens": shared}}, num_wrapping_dims=1)
    assert output.shape == (1, 2, 2, 5)


def test_batches_of_no_known_language_or_several_are_errors():
    embedder = _embedder()
    ids = {"tokens": torch.tensor([[2]])}
    for keys in (["tokens_de"], ["tokens_nl", "tokens_en"], ["tokens"], ["tokens_nl", "tokens_de"]):
        with pytest.raises(ValueError, match=r"one known language.*\['en', 'nl'\]"):
            embedder({**{key: ids for key in keys}, "shared_ids": ids})
    with pytest.raises(ValueError, match="lacks the shared token keys"):
        embedder({"tokens_nl": ids})


def test_word_embeddings_of_different_widths_are_refused():
    with pytest.raises(ConfigurationError, match="as wide"):
        MultilingualEmbedder({"nl": Embedding(embedding_dim=3, num_embeddings=4), "en": Embedding(embedding_dim=4, num_embeddings=4)})
