"""The shared part of the project's readers: decoding, tag schemes, file checks, sampling, instances."""
import itertools
import logging
import random
import re
import unicodedata
from os import PathLike
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Tuple, TypeVar, Union

from allennlp.common.checks import ConfigurationError
from allennlp.common.file_utils import cached_path
from allennlp.data import DatasetReader, Instance, Token
from allennlp.data.fields import Field, MetadataField, SequenceLabelField, TextField
from allennlp.data.token_indexers import SingleIdTokenIndexer, TokenIndexer

from allennlp_ain.tag_schemes import check_scheme, convert, tag_error

T = TypeVar("T")

logger = logging.getLogger(__name__)

Sentence = Tuple[List[str], Optional[List[str]]]
Lines = List[Tuple[int, str]]
"""Numbered lines: `(1-based line number, line without its line end)`."""

_BOM = "\ufeff"
# whitespace (as `str.split()` sees it), control characters (Unicode category Cc) and a stray
# byte-order mark: never part of a word or a tag
_BAD_CHARACTER = re.compile(r"[\s\x00-\x1f\x7f-\x9f\ufeff]")


class DataFormatError(ValueError):
    """Malformed input; the message names the file and line and says what was expected."""

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line


def decoded_lines(path: str, encoding: str) -> Iterator[str]:
    """
    The lines of `path` without their line ends (1-based numbering is the caller's), decoded one
    by one so that a bad byte raises `DataFormatError` naming the file and line. `"\\r\\n"`, `"\\r"`
    and `"\\n"` all end a line; a byte-order mark at the start of the file is dropped.
    """
    for _, line in numbered_lines(path, encoding):
        if isinstance(line, DataFormatError):
            raise line
        yield line


def numbered_lines(path: str, encoding: str) -> Iterator[Tuple[int, Union[str, DataFormatError]]]:
    """
    `decoded_lines` with their numbers, where a line that is not valid in `encoding` comes as
    its (unraised) `DataFormatError`, so that a reader can skip its sentence and go on.
    The bytes are split before decoding, which `check_encoding` makes safe.
    """
    number = 0
    with open(path, "rb") as data:
        for raw in data:  # lines ended by b"\n"; a b"\r" inside one ends a line too
            raw = raw[:-1] if raw.endswith(b"\n") else raw
            raw = raw[:-1] if raw.endswith(b"\r") else raw
            for part in raw.split(b"\r"):
                number += 1
                try:
                    line = part.decode(encoding)
                except UnicodeDecodeError as error:
                    yield number, DataFormatError(
                        path,
                        number,
                        f"not valid {encoding} ({error.reason} at byte {error.start} of the line); set the reader's `encoding`",
                    )
                    continue
                yield number, line[1:] if number == 1 and line.startswith(_BOM) else line


def check_encoding(encoding: str) -> str:
    """
    `encoding` if the readers can split its bytes into lines before decoding them (so that a bad
    byte costs one line): it must encode ASCII as single bytes (UTF-8, Latin-1, cp1252 and most
    others do; UTF-16 and UTF-32 do not). Raises `ConfigurationError` otherwise.
    """
    probe = "\t\n\r #:-<=>_09AZaz"
    try:
        ascii_compatible = probe.encode("ascii").decode(encoding) == probe
    except LookupError as error:
        raise ConfigurationError(f"encoding {encoding!r}: {error}") from None
    except UnicodeError:
        ascii_compatible = False
    if not ascii_compatible:
        raise ConfigurationError(
            f"encoding {encoding!r} does not write ASCII characters as single bytes, so its files cannot be read "
            "line by line; convert them to UTF-8"
        )
    return encoding


def character_error(text: str, what: str) -> Optional[str]:
    """Why `text` cannot be a `what` (a word, a tag): it is empty or holds whitespace, a control
    character or a byte-order mark; `None` when it can."""
    if not text:
        return f"empty {what}"
    bad = _BAD_CHARACTER.search(text)
    if bad is None:
        return None
    character = bad.group()
    name = unicodedata.name(character, "a control character")
    return f"{what} {text!r} contains U+{ord(character):04X} ({name}), which no {what} may hold"


class TaggingDatasetReader(DatasetReader):
    """
    Base class of the project's readers. A subclass implements `_read_sentences(path)`, yielding
    `(tokens, tags)` pairs (tags may be `None` for unlabelled input), usually as
    `self.parsed_sentences(path, parse)` with a `parse` that turns one sentence's numbered lines
    into its tokens and tags and raises `DataFormatError` for a malformed line. The base reads the
    lines (`"\\r\\n"`, `"\\r"` and `"\\n"` all end a line; a byte-order mark at the start of
    the file is dropped; a byte that is not valid in `encoding` is a `DataFormatError`), skips
    invalid sentences with `skip_invalid`, checks each word with `check_word` and each tag with
    `check_tag`, and rewrites each sentence's tags with `convert_tags`. No word or tag is empty
    or holds whitespace or a control character.

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
        naming the file and line. It must write ASCII characters as single bytes (UTF-8, Latin-1,
        cp1252, ...; not UTF-16), or `ConfigurationError` is raised.
    language : `str`, optional (default = `None`)
        The language of the data (for example `"en"`), written to every instance's
        `metadata["language"]` for multilingual models.
    sample : `float`, optional (default = `None`)
        Keep a random subset of the sentences of each file: a count when at least 1
        (`1000` keeps 1,000 sentences), a fraction when below 1 (`0.1` keeps 10%).
        The order of the kept sentences is the file's order.
    seed : `int`, optional (default = `13`)
        The seed of `sample`.
    tag_map : `Dict[str, str]`, optional (default = `None`)
        Rename tags after reading (and after `convert_to`), for tag sets that differ only in names:
        `{"CONJ": "CCONJ"}` reads a UD v1 treebank with the UD v2 tag set. Tags not in the map stay.
    skip_invalid : `bool`, optional (default = `False`)
        For real corpora with a few broken lines: skip a sentence (an utterance in ATIS) that
        has an invalid line, with a warning that names the file, the line and the reason, and go
        on; at the end of each file a last warning gives the number skipped. `False`: an invalid
        line raises `DataFormatError` naming the file and line. A file without any valid sentence
        raises `ConfigurationError` either way.
    distributed_sharding : `bool`, optional (default = `True`)
        In distributed training, each worker reads its share of the sentences (every
        `world_size`-th). `False` for the validation reader: every worker then reads the whole
        file, and the metrics, reduced across the workers, are exactly those of one process
        (AllenNLP stops validating at the first worker that runs out of batches, so uneven shares
        would leave batches out). Data-loader worker processes split the data either way.
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
        tag_map: Optional[Dict[str, str]] = None,
        skip_invalid: bool = False,
        distributed_sharding: bool = True,
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
        self.encoding = check_encoding(encoding)
        self.language = language
        if sample is not None and sample <= 0:
            raise ConfigurationError(f"sample must be a positive count or fraction, got {sample}")
        self.sample = sample
        self.seed = seed
        self.tag_map = dict(tag_map or {})
        self.skip_invalid = skip_invalid
        self.distributed_sharding = distributed_sharding

    def shard_iterable(self, iterable: Iterable[T]) -> Iterator[T]:
        """AllenNLP's sharding, without the distributed split when `distributed_sharding` is off."""
        if self.distributed_sharding:
            return super().shard_iterable(iterable)
        shard: Iterator[T] = iter(iterable)
        if self._worker_info is not None:
            shard = itertools.islice(shard, self._worker_info.id, None, self._worker_info.num_workers)
        if self.max_instances is not None:
            shard = itertools.islice(shard, self.max_instances)
        return shard

    @property
    def output_scheme(self) -> Optional[str]:
        """The scheme of the instances' tags: `convert_to` if set, else `tag_scheme`."""
        return self.convert_to if self.convert_to is not None else self.tag_scheme

    def check_word(self, word: str, path: str, line: int, where: str = "") -> None:
        """Raise `DataFormatError(path, line, ...)` when `word` is empty or holds whitespace, a
        control character or a byte-order mark; `where` (such as `"token 3: "`) is put before the
        reason."""
        error = character_error(word, "word")
        if error is not None:
            raise DataFormatError(path, line, where + error)

    def check_tag(self, tag: str, path: str, line: int, where: str = "") -> None:
        """Raise `DataFormatError(path, line, ...)` when `tag` is empty, holds whitespace or a
        control character, or is not allowed by `tag_scheme`; `where` (such as `"token 3
        'denver': "`) is put before the reason."""
        error = character_error(tag, "tag")
        if error is not None:
            raise DataFormatError(path, line, where + error)
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

    def parsed_sentences(
        self, path: str, parse: Callable[[Lines], Optional[Sentence]], one_per_line: bool = False
    ) -> Iterator[Sentence]:
        """
        The sentences of `path`: its lines are cut into sentences at blank lines (the column
        formats), or one sentence per non-blank line with `one_per_line` (ATIS), and `parse`
        turns each sentence's numbered lines into `(tokens, tags)`, or `None` when they hold no
        token (comments, `-DOCSTART-`). A malformed line (`parse` raises `DataFormatError`; an
        undecodable line does so before `parse`) raises, or with `skip_invalid` costs only its
        sentence, with warnings.
        """
        skipped = 0
        for lines in self._sentence_lines(path, one_per_line):
            try:
                undecodable = next((line for _, line in lines if isinstance(line, DataFormatError)), None)
                if undecodable is not None:
                    raise undecodable
                sentence = parse(lines)  # type: ignore[arg-type]
            except DataFormatError as error:
                if not self.skip_invalid:
                    raise
                skipped += 1
                logger.warning("Skipping an invalid sentence (skip_invalid): %s", error)
                continue
            if sentence is not None:
                yield sentence
        if skipped:
            logger.warning("Skipped %d invalid sentence(s) of %s (skip_invalid)", skipped, path)

    def _sentence_lines(self, path: str, one_per_line: bool) -> Iterator[List[Tuple[int, Union[str, DataFormatError]]]]:
        lines: List[Tuple[int, Union[str, DataFormatError]]] = []
        for number, line in numbered_lines(path, self.encoding):
            if isinstance(line, DataFormatError) or line.strip():
                lines.append((number, line))
                if not one_per_line:
                    continue
            if lines:
                yield lines
                lines = []
        if lines:
            yield lines

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
            if self.tag_map and tags is not None:
                tags = [self.tag_map.get(tag, tag) for tag in tags]
            yield self.text_to_instance(tokens, tags)
        if empty and self.sample is None:
            raise ConfigurationError(f"{type(self).__name__}: {file_path} holds no sentences{self._skipped_note}")

    def _sample(self, sentences: List[Sentence], file_path: str) -> List[Sentence]:
        assert self.sample is not None
        count = int(self.sample) if self.sample >= 1 else round(self.sample * len(sentences))
        if not sentences:
            raise ConfigurationError(f"{type(self).__name__}: {file_path} holds no sentences{self._skipped_note}")
        keep = sorted(random.Random(self.seed).sample(range(len(sentences)), min(count, len(sentences))))
        logger.info("Sampled %d of %d sentences from %s", len(keep), len(sentences), file_path)
        return [sentences[i] for i in keep]

    @property
    def _skipped_note(self) -> str:
        return " (with skip_invalid: no valid sentences; see the warnings)" if self.skip_invalid else ""

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
