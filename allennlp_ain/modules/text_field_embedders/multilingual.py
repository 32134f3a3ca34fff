from typing import Dict, List, Optional

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.data import TextFieldTensors
from allennlp.modules import TextFieldEmbedder, TimeDistributed, TokenEmbedder


@TextFieldEmbedder.register("ain_multilingual")
class MultilingualEmbedder(TextFieldEmbedder):
    """
    Word embeddings of their own for every language, and token embedders that every language
    shares (a character CNN), as Lin et al. (2018) embed: a token is `[w ; s_1 ; s_2 ; ...]`, its
    word vector `w` from its language's embedder and the shared embedders' outputs after it, in
    the order of their token keys.

    The language of a batch is the one whose words it holds: the words of language `L` come
    under the token key `tokens_L` (the readers' token indexers of language `L` use that key and,
    for a vocabulary per language, the namespace `tokens_L`), so a batch must hold exactly one
    `tokens_*` key of a configured language, and every shared key. A batch of another language,
    or of several, is a `ValueError` that lists the known languages. Every language's word
    embedder has the same output width, so the encoder above sees one width.

    Registered as a `TextFieldEmbedder` with name "ain_multilingual".

    # Parameters

    words : `Dict[str, TokenEmbedder]`
        The word embedder of every language, by language (e.g. `{"nl": {"type": "embedding",
        "vocab_namespace": "tokens_nl", ...}, "en": ...}`); each may have its own
        `pretrained_file`.
    shared : `Dict[str, TokenEmbedder]`, optional (default = `None`)
        Embedders of every language's tokens, by token key (e.g. `{"token_characters": ...}`).
    """

    def __init__(self, words: Dict[str, TokenEmbedder], shared: Optional[Dict[str, TokenEmbedder]] = None) -> None:
        super().__init__()
        if not words:
            raise ConfigurationError("ain_multilingual needs the word embedder of at least one language")
        widths = {language: embedder.get_output_dim() for language, embedder in words.items()}
        if len(set(widths.values())) != 1:
            raise ConfigurationError(f"ain_multilingual: every language's word embedder must be as wide, got {widths}")
        shared = dict(shared or {})
        clashes = sorted(key for key in shared if key.startswith("tokens_"))
        if clashes:
            raise ConfigurationError(f"ain_multilingual: shared token keys {clashes} look like a language's words (tokens_*)")
        self.words = torch.nn.ModuleDict(words)
        self.shared = torch.nn.ModuleDict(shared)
        self._shared_keys = sorted(shared)

    @property
    def languages(self) -> List[str]:
        """The languages with word embeddings, sorted."""
        return sorted(self.words.keys())

    @staticmethod
    def word_key(language: str) -> str:
        """The token key of `language`'s words."""
        return f"tokens_{language}"

    def word_namespace(self, language: str) -> Optional[str]:
        """The vocabulary namespace of `language`'s word embedder (AllenNLP's `Embedding` keeps
        it as `_vocab_namespace`), `None` when the embedder does not say; `KeyError` for a language
        without word embeddings."""
        return getattr(self.words[language], "_vocab_namespace", None)

    def language(self, text_field_input: TextFieldTensors) -> str:
        """The language whose words `text_field_input` holds; `ValueError` unless exactly one known one."""
        present = [language for language in self.languages if self.word_key(language) in text_field_input]
        unknown = sorted(key for key in text_field_input if key.startswith("tokens_") and key[7:] not in self.words)
        if len(present) != 1 or unknown:
            found = sorted(key for key in text_field_input)
            raise ValueError(
                f"ain_multilingual: a batch must hold the words of one known language, found token keys {found}; "
                f"the known languages are {self.languages} (keys {[self.word_key(x) for x in self.languages]})"
            )
        return present[0]

    def get_output_dim(self) -> int:
        first = next(iter(self.words.values()))
        return first.get_output_dim() + sum(embedder.get_output_dim() for embedder in self.shared.values())

    def forward(self, text_field_input: TextFieldTensors, num_wrapping_dims: int = 0, **kwargs) -> torch.Tensor:
        language = self.language(text_field_input)
        missing = [key for key in self._shared_keys if key not in text_field_input]
        if missing:
            raise ValueError(f"ain_multilingual: the batch lacks the shared token keys {missing}")
        pieces = [(self.words[language], text_field_input[self.word_key(language)])]
        pieces += [(self.shared[key], text_field_input[key]) for key in self._shared_keys]
        vectors = []
        for embedder, tensors in pieces:
            for _ in range(num_wrapping_dims):
                embedder = TimeDistributed(embedder)
            # as AllenNLP's `basic` embedder: one tensor goes in by position, several by name
            vectors.append(embedder(*tensors.values()) if len(tensors) == 1 else embedder(**tensors))
        return torch.cat(vectors, dim=-1)
