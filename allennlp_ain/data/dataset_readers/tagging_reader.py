"""The shared part of the project's readers: decoding, tag schemes, file checks, sampling, instances."""
import logging
import random
from os import PathLike
from typing import Dict, Iterable, Iterator, List, Optional, Tuple, Union

from allennlp.common.checks import ConfigurationError
from allennlp.common.file_utils import cached_path
from allennlp.data import DatasetReader, Instance, Token
from allennlp.data.fields import Field, MetadataField, SequenceLabelField, TextField
from allennlp.data.token_indexers import SingleIdTokenIndexer, TokenIndexer

from allennlp_ain.tag_schemes import check_scheme, convert, tag_error

logger = logging.getLogger(__name__)

Sentence = Tuple[List[str], Optional[List[str]]]


class DataFormatError(ValueError):
    """Malformed input; the message names the file and line and says what was expected."""

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line


def decoded_lines(path: str, encoding: str) -> Iterator[str]:
    """
    The lines of `path` without their line ends (1-based numbering is the caller's), decoded one
    by one so that a bad byte raises `DataFormatError` naming the file and line.
    """
    with open(path, "rb") as data:
        for number, raw in enumerate(data, start=1):
            try:
                yield raw.decode(encoding).rstrip("\r\n")
            except UnicodeDecodeError as error:
                raise DataFormatError(
                    path, number, f"not valid {encoding} ({error.reason} at byte {error.start}); set the reader's `encoding`"
                ) from None


class TaggingDatasetReader(DatasetReader):
    """
    Base class of the project's readers. A subclass implements `_read_sentences(path)`, yielding
    `(tokens, tags)` pairs (tags may be `None` for unlabelled input) and raising
    `DataFormatError` for malformed lines. It reads files through `decoded_lines(path,
    self.encoding)`, checks each tag with `check_tag` and rewrites each sentence's tags with
    `convert_tags`.

    Each instance has a `tokens` `TextField`, a `tags` `SequenceLabelField` (when labelled) and
    `metadata` with the `words` and the `language` (`None` when unset).

    # Parameters

    token_indexers : `Dict[str, TokenIndexer]`, optional (default = `{"tokens": SingleIdTokenIndexer()}`)
    label_namespace : `str`, optional (default = `"labels"`)
    tag_scheme : `str`, optional (default = `None`)
        The span scheme of the file's tags (`"IOB1"`, `"BIO"` = `"IOB2"`, `"BIOES"` = `"BIOUL"`,
        `"BMES"`; see `allennlp_ain.tag_schemes`). A tag the scheme does not allow raises
        `DataFormatError` naming the file and line. `None`: tags are not checked (POS tags).
    convert_to : `str`, optional (default = `None`)
        The scheme of the instances' tags: they are rewritten from `tag_scheme` through their
        spans, so the conversion is exact. `None` keeps the file's tags. Needs `tag_scheme`.
    encoding : `str`, optional (default = `"utf-8"`)
        The encoding of the data files; a byte that is not valid in it raises `DataFormatError`
        naming the file and line.
    language : `str`, optional (default = `None`)
        The language of the data (for example `"en"`), written to every instance's
        `metadata["language"]` for multilingual models.
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
        tag_scheme: Optional[str] = None,
        convert_to: Optional[str] = None,
        encoding: str = "utf-8",
        language: Optional[str] = None,
        sample: Optional[float] = None,
        seed: int = 13,
        **kwargs,
    ) -> None:
        super().__init__(manual_distributed_sharding=True, manual_multiprocess_sharding=True, **kwargs)
        self._token_indexers = token_indexers or {"tokens": SingleIdTokenIndexer()}
        self.label_namespace = label_namespace
        try:
            self.tag_scheme = check_scheme(tag_scheme) if tag_scheme is not None else None
            self.convert_to = check_scheme(convert_to) if convert_to is not None else None
        except ValueError as error:
            raise ConfigurationError(f"{type(self).__name__}: {error}") from None
        if self.convert_to is not None and self.tag_scheme is None:
            raise ConfigurationError(f"{type(self).__name__}: convert_to needs the tag_scheme of the file's tags")
        self.encoding = encoding
        self.language = language
        if sample is not None and sample <= 0:
            raise ConfigurationError(f"sample must be a positive count or fraction, got {sample}")
        self.sample = sample
        self.seed = seed

    @property
    def output_scheme(self) -> Optional[str]:
        """The scheme of the instances' tags: `convert_to` if set, else `tag_scheme`."""
        return self.convert_to if self.convert_to is not None else self.tag_scheme

    def check_tag(self, tag: str, path: str, line: int, where: str = "") -> None:
        """Raise `DataFormatError(path, line, ...)` when `tag_scheme` does not allow `tag`; `where`
        (such as `"token 3 'denver': "`) is put before the reason."""
        if self.tag_scheme is not None:
            error = tag_error(tag, self.tag_scheme)
            if error is not None:
                raise DataFormatError(path, line, where + error)

    def convert_tags(self, tags: List[str]) -> List[str]:
        """One sentence's checked tags rewritten from `tag_scheme` in `convert_to` (unchanged
        without `convert_to`)."""
        if self.convert_to is None:
            return tags
        assert self.tag_scheme is not None
        return convert(tags, self.tag_scheme, self.convert_to)

    def line_blocks(self, path: str) -> Iterator[List[Tuple[int, str]]]:
        """
        The blocks of `path`'s lines separated by blank lines (one sentence each, in the column
        formats), as lists of `(line number, line)`, read through `decoded_lines`.
        """
        block: List[Tuple[int, str]] = []
        for number, line in enumerate(decoded_lines(path, self.encoding), start=1):
            if line.strip():
                block.append((number, line))
            elif block:
                yield block
                block = []
        if block:
            yield block

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
        metadata = {"words": list(tokens), "language": self.language}
        fields: Dict[str, Field] = {"tokens": text_field, "metadata": MetadataField(metadata)}
        if tags is not None:
            if len(tags) != len(tokens):
                raise ValueError(f"{len(tokens)} tokens but {len(tags)} tags")
            fields["tags"] = SequenceLabelField(tags, text_field, self.label_namespace)
        return Instance(fields)

    def apply_token_indexers(self, instance: Instance) -> None:
        instance.fields["tokens"]._token_indexers = self._token_indexers  # type: ignore
