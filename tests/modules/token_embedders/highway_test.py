"""The highway wrapper: `c ⊙ x + (1 − c) ⊙ f(W_h x + b_h)` over another token embedder's output."""
import torch
from allennlp.common import Params
from allennlp.data import Vocabulary
from allennlp.modules.token_embedders import TokenEmbedder

from allennlp_ain.modules.token_embedders import HighwayEmbedder


def test_one_highway_layer_by_its_definition():
    vocab = Vocabulary()
    vocab.add_tokens_to_namespace(list("abcdef"), "token_characters")
    params = {
        "type": "ain_highway",
        "embedder": {
            "type": "ain_character_encoding",
            "embedding": {"embedding_dim": 4, "vocab_namespace": "token_characters"},
            "encoder": {"type": "cnn", "embedding_dim": 4, "num_filters": 2, "ngram_filter_sizes": [2, 3, 4]},
        },
        "activation": "selu",
    }
    embedder = TokenEmbedder.from_params(Params(params), vocab=vocab)
    assert isinstance(embedder, HighwayEmbedder) and embedder.get_output_dim() == 6
    characters = torch.tensor([[[2, 3, 4, 5], [6, 7, 0, 0]]])
    x = embedder.embedder(characters)
    layer = embedder.highway._layers[0]  # [W_h ; W_c], as AllenNLP's Highway stacks them
    projected = x @ layer.weight.t() + layer.bias
    nonlinear, carry = projected[..., :6], torch.sigmoid(projected[..., 6:])
    expected = carry * x + (1 - carry) * torch.nn.functional.selu(nonlinear)
    torch.testing.assert_close(embedder(characters), expected)
