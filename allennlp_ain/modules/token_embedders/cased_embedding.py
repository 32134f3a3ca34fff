import logging
from typing import Dict, Optional

import numpy
import torch
from allennlp.common.checks import ConfigurationError
from allennlp.common.tqdm import Tqdm
from allennlp.data import Vocabulary
from allennlp.modules.token_embedders import Embedding, TokenEmbedder
from allennlp.modules.token_embedders.embedding import EmbeddingsTextFile

logger = logging.getLogger(__name__)


@TokenEmbedder.register("ain_cased_embedding")
class CasedEmbedding(Embedding):
    """
    AllenNLP's `embedding` whose pretrained vectors are looked up as Lample et al. (2016) do: a
    vocabulary word takes the file's vector for the word as written, else for the lowercased
    word, else a random vector (drawn, like `embedding`'s, from a normal distribution with the
    file's mean and standard deviation). With an uncased file such as GloVe 6B and a cased
    vocabulary (`ain_cased_single_id`), "Apple" and "apple" both start from GloVe's "apple" and
    are trained apart. Takes `embedding`'s arguments; `pretrained_file` is a GloVe-format text
    file (plain or compressed, as `embedding` reads it). Like `embedding`, a saved model does not
    need the file: `load_archive` drops `pretrained_file` and the weights come from the archive.

    Registered as a `TokenEmbedder` with name "ain_cased_embedding".

    # Parameters

    embedding_dim : `int`
        The width of the vectors; must equal the file's.
    pretrained_file : `str`, optional (default = `None`)
        A GloVe-format text file (plain or compressed). A line of the wrong width is an error
        naming the file and line. Without it the vectors start random, as `embedding`'s do.
    vocab : `Vocabulary`, optional (default = `None`)
        Supplied by AllenNLP; required with `pretrained_file`.
    vocab_namespace : `str`, optional (default = `"tokens"`)
        The namespace of the words (the `ain_cased_single_id` indexer's).
    **kwargs
        Every other argument of AllenNLP's `embedding` (`trainable`, `projection_dim`, ...), passed
        on unchanged.
    """

    def __init__(
        self,
        embedding_dim: int,
        pretrained_file: Optional[str] = None,
        vocab: Optional[Vocabulary] = None,
        vocab_namespace: str = "tokens",
        **kwargs,
    ) -> None:
        weight = None
        if pretrained_file is not None:
            if vocab is None:
                raise ConfigurationError("ain_cased_embedding with a pretrained_file needs a vocabulary")
            weight = _read_with_lowercase_fallback(pretrained_file, embedding_dim, vocab, vocab_namespace)
        super().__init__(embedding_dim, weight=weight, vocab=vocab, vocab_namespace=vocab_namespace, **kwargs)


def _read_with_lowercase_fallback(path: str, dim: int, vocab: Vocabulary, namespace: str) -> torch.Tensor:
    words = vocab.get_index_to_token_vocabulary(namespace)
    wanted = set(words.values()) | {w.lower() for w in words.values()}
    vectors: Dict[str, numpy.ndarray] = {}
    with EmbeddingsTextFile(path) as lines:
        for number, line in enumerate(Tqdm.tqdm(lines, desc=f"reading {path}"), start=1):
            word, _, rest = line.rstrip().partition(" ")
            if word not in wanted:
                continue
            fields = rest.split(" ")
            if len(fields) != dim:
                raise ConfigurationError(
                    f"{path}, line {number}: expected the word and {dim} numbers (embedding_dim), "
                    f"found {len(fields)} numbers"
                )
            vectors[word] = numpy.asarray(fields, dtype="float32")
    if not vectors:
        raise ConfigurationError(f"{path}: no vector for any word of the '{namespace}' vocabulary")
    found = numpy.stack(list(vectors.values()))
    weight = torch.empty(len(words), dim).normal_(float(found.mean()), float(found.std()))
    exact = lowered = 0
    for index, word in words.items():
        if word in vectors:
            weight[index] = torch.from_numpy(vectors[word])
            exact += 1
        elif word.lower() in vectors:
            weight[index] = torch.from_numpy(vectors[word.lower()])
            lowered += 1
    logger.info(
        "%s: vectors for %d of %d words (%d as written, %d lowercased)", path, exact + lowered, len(words), exact, lowered
    )
    return weight
