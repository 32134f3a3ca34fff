import torch
from allennlp.common.checks import ConfigurationError
from allennlp.modules.seq2vec_encoders import Seq2VecEncoder
from allennlp.modules.token_embedders import Embedding, TokenCharactersEncoder, TokenEmbedder


@TokenEmbedder.register("ain_character_encoding")
class CharacterEncoding(TokenCharactersEncoder):
    """
    AllenNLP's `character_encoding` (embed each token's characters, run a `Seq2VecEncoder` such as
    a character CNN over them) with a second dropout, `embedding_dropout`, on the character
    embeddings themselves, before the encoder, as Ma and Hovy (2016) and the AIN paper's public
    code do (rate 0.5 there). `dropout` is `character_encoding`'s: on the encoder's output.
    Each entry of each character embedding is dropped independently (`torch.nn.Dropout`).

    Registered as a `TokenEmbedder` with name "ain_character_encoding".

    # Parameters

    embedding : `Embedding`
        The character embedding (namespace `token_characters` by default).
    encoder : `Seq2VecEncoder`
        Turns a token's character embeddings into one vector (e.g. AllenNLP's `cnn`).
    dropout : `float`, optional (default = `0.0`)
        Dropout on the encoder's output, as in `character_encoding`.
    embedding_dropout : `float`, optional (default = `0.0`)
        Dropout on the character embeddings, before the encoder; in [0, 1).
    """

    def __init__(
        self,
        embedding: Embedding,
        encoder: Seq2VecEncoder,
        dropout: float = 0.0,
        embedding_dropout: float = 0.0,
    ) -> None:
        if not 0.0 <= embedding_dropout < 1.0:
            raise ConfigurationError(f"embedding_dropout must be in [0, 1), got {embedding_dropout}")
        super().__init__(embedding, encoder, dropout)
        self._embedding_dropout = torch.nn.Dropout(embedding_dropout)

    def forward(self, token_characters: torch.Tensor) -> torch.Tensor:
        mask = (token_characters != 0).long()
        embedded = self._embedding_dropout(self._embedding(token_characters))
        return self._dropout(self._encoder(embedded, mask))
