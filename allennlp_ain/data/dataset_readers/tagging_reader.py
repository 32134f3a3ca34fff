"""The shared part of the project's readers: file checks, sampling, instances."""
import logging
import random
from os import PathLike
from typing import Dict, Iterable, Iterator, List, Optional, Tuple, Union

from allennlp.common.checks import ConfigurationError
from allennlp.common.file_utils import cached_path
from allennlp.data import DatasetReader, Instance, Token
from allennlp.data.fields import Field, MetadataField, SequenceLabelField, TextField
from allennlp.data.token_indexers import SingleIdTokenIndexer, TokenIndexer

logger = logging.getLogger(__name__)

Sentence = Tuple[List[str], Optional[List[str]]]


class DataFormatError(ValueError):
    """Malformed input; the message names the file and line and says what was expected."""

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line


class TaggingDatasetReader(DatasetReader):
    """
    Base class of the project's readers. A subclass implements `_read_sentences(path)`, yielding
    `(tokens, tags)` pairs (tags may be `None` for unlabelled input) and raising
    `DataFormatError` for malformed lines.

    Each instance has a `tokens` `TextField`, a `tags` `SequenceLabelField` (when labelled) and
    `metadata` with the `words`.

    # Parameters

    token_indexers : `Dict[str, TokenIndexer]`, optional (default = `{"tokens": SingleIdTokenIndexer()}`)
    label_namespace : `str`, optional (default = `"labels"`)
    sample : `float`, optional (default = `None`)
        Keep a random subset of the sentences of each file: a count when at least 1
        (`1000` keeps 1,000 sentences), a fraction when below 1 (`0.1` keeps 10%).
        The order of the kept sentences is the file's order.
    seed : `int`, optional (default = `13`)
        The seed of `sample`.
    """

    def __init__(
        self,
        token_indexers: Optional[Dict[str, TokenIndexer]] = None,
        label_namespace: str = "labels",
        sample: Optional[float] = None,
        seed: int = 13,
        **kwargs,
    ) -> None:
        super().__init__(manual_distributed_sharding=True, manual_multiprocess_sharding=True, **kwargs)
        self._token_indexers = token_indexers or {"tokens": SingleIdTokenIndexer()}
        self.label_namespace = label_namespace
        if sample is not None and sample <= 0:
            raise ConfigurationError(f"sample must be a positive count or fraction, got {sample}")
        self.sample = sample
        self.seed = seed

    def _read_sentences(self, path: str) -> Iterator[Sentence]:
        raise NotImplementedError

    def _read(self, file_path: Union[str, PathLike]) -> Iterable[Instance]:
        try:
            path = cached_path(file_path)
        except FileNotFoundError:
            raise ConfigurationError(f"{type(self).__name__}: no such data file: {file_path}") from None
        sentences: Iterable[Sentence] = self._read_sentences(str(path))
        if self.sample is not None:
            sentences = self._sample(list(sentences), str(file_path))
        empty = True
        for tokens, tags in self.shard_iterable(sentences):
            empty = False
            yield self.text_to_instance(tokens, tags)
        if empty and self.sample is None:
            raise ConfigurationError(f"{type(self).__name__}: {file_path} holds no sentences")

    def _sample(self, sentences: List[Sentence], file_path: str) -> List[Sentence]:
        assert self.sample is not None
        count = int(self.sample) if self.sample >= 1 else round(self.sample * len(sentences))
        if not sentences:
            raise ConfigurationError(f"{type(self).__name__}: {file_path} holds no sentences")
        keep = sorted(random.Random(self.seed).sample(range(len(sentences)), min(count, len(sentences))))
        logger.info("Sampled %d of %d sentences from %s", len(keep), len(sentences), file_path)
        return [sentences[i] for i in keep]

    def text_to_instance(self, tokens: List[str], tags: Optional[List[str]] = None) -> Instance:  # type: ignore
        if not tokens:
            raise ValueError("Cannot make an instance of an empty sentence")
        text_field = TextField([Token(t) for t in tokens])
        fields: Dict[str, Field] = {"tokens": text_field, "metadata": MetadataField({"words": list(tokens)})}
        if tags is not None:
            if len(tags) != len(tokens):
                raise ValueError(f"{len(tokens)} tokens but {len(tags)} tags")
            fields["tags"] = SequenceLabelField(tags, text_field, self.label_namespace)
        return Instance(fields)

    def apply_token_indexers(self, instance: Instance) -> None:
        instance.fields["tokens"]._token_indexers = self._token_indexers  # type: ignore
