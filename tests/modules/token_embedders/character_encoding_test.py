import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.data import Vocabulary
from allennlp.modules.token_embedders import TokenCharactersEncoder, TokenEmbedder

from allennlp_ain.modules.token_embedders import CharacterEncoding


def _params(**extra) -> Params:
    return Params(
        {
            "type": "ain_character_encoding",
            "embedding": {"embedding_dim": 4, "vocab_namespace": "token_characters"},
            "encoder": {"type": "cnn", "embedding_dim": 4, "num_filters": 6, "ngram_filter_sizes": [2]},
            **extra,
        }
    )


@pytest.fixture
def vocab() -> Vocabulary:
    vocab = Vocabulary()
    vocab.add_tokens_to_namespace(list("abcdefgh"), "token_characters")
    return vocab


CHARS = torch.tensor([[[2, 3, 4, 5], [6, 7, 0, 0], [8, 9, 2, 0]], [[3, 3, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]])


def test_without_embedding_dropout_it_is_character_encoding(vocab):
    torch.manual_seed(0)
    ours = TokenEmbedder.from_params(_params(), vocab=vocab)
    assert isinstance(ours, CharacterEncoding)
    theirs = TokenEmbedder.from_params(Params({**_params().as_dict(), "type": "character_encoding"}), vocab=vocab)
    assert type(theirs) is TokenCharactersEncoder
    theirs.load_state_dict(ours.state_dict())
    ours.train()
    theirs.train()
    assert torch.equal(ours(CHARS), theirs(CHARS))
    assert ours.get_output_dim() == 6


def test_embedding_dropout_acts_on_the_character_embeddings_before_the_encoder(vocab):
    torch.manual_seed(0)
    embedder = TokenEmbedder.from_params(_params(embedding_dropout=0.5), vocab=vocab)
    seen = []
    embedder._encoder.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0]))
    clean = embedder._embedding(CHARS)

    embedder.train()
    embedder(CHARS)
    dropped = seen[-1]
    kept = dropped != 0
    assert 0.3 < kept[clean != 0].float().mean().item() < 0.7  # about half the entries survive ...
    assert torch.allclose(dropped[kept], 2 * clean[kept])  # ... scaled by 1 / (1 - 0.5)

    embedder.eval()
    out = embedder(CHARS)
    assert torch.equal(seen[-1], clean)  # no dropout at prediction time
    assert torch.equal(out, embedder(CHARS))


def test_embedding_dropout_outside_zero_one_is_an_error(vocab):
    with pytest.raises(ConfigurationError, match=r"embedding_dropout must be in \[0, 1\), got 1.0"):
        TokenEmbedder.from_params(_params(embedding_dropout=1.0), vocab=vocab)
