import os
import random
from collections import Counter
from typing import Iterator, List, Optional

from allennlp.common.checks import ConfigurationError
from allennlp.data import DatasetReader

from allennlp_ain.data.dataset_readers.tagging_reader import (
    DataFormatError,
    Lines,
    Sentence,
    TaggingDatasetReader,
    numbered_lines,
)


@DatasetReader.register("ain_conll")
class ConllReader(TaggingDatasetReader):
    """
    Reads CoNLL column files: one token per line, whitespace-separated columns, sentences
    separated by blank lines. This covers CoNLL-2003 (`token POS chunk NER`, IOB1), CoNLL-2002
    (`token POS NER`, BIO) and CoNLL-2000 (`token POS chunk`, BIO). `-DOCSTART-` lines are
    skipped wherever they stand: in a block of their own (CoNLL-2003) or as the first line of a
    sentence (the Dutch CoNLL-2002 files).

    Tags are checked against `tag_scheme` and rewritten in `convert_to` through their spans (see
    `allennlp_ain.tag_schemes`), so the conversion is exact. A line with the wrong number
    of columns, a token or tag with a control character, a tag the scheme does not allow
    (`X-PER`, `S-PER` in BIO) or bytes that are not valid in `encoding` raises `DataFormatError`
    naming the file and line; with `skip_invalid` its sentence is skipped with a warning.
    Any whitespace separates columns; `"\\r\\n"`, `"\\r"` and `"\\n"` end lines.

    The reader can also hold out a fixed, seeded subset of one file's sentences, for a corpus
    without a development split (CoNLL-2000): the training reader reads the rest of
    `hold_out_file` (`hold_out: 0.1`) and the validation reader its held-out part (`hold_out:
    0.1, read_held_out: true`), with the same `seed`. Other files (AllenNLP reads the test file
    with the validation reader) are read whole.

    Registered as a `DatasetReader` with name "ain_conll".

    # Parameters

    token_column : `int`, optional (default = `0`)
    label_column : `int`, optional (default = `-1`)
        The column of the tags: `3` (or `-1`) for CoNLL-2003 NER, `2` for its chunks, `-1` for
        CoNLL-2002 NER and CoNLL-2000 chunks.
    num_columns : `int`, optional (default = `None`)
        The number of columns of every token line. `None` takes the most common count of the
        file's token lines that hold the token and label columns (the first such line's count
        on a tie) and requires every token line to have it, so that a broken first line does not
        set the count for the file.
    tag_scheme : `str`, optional (default = `"BIO"`)
        The scheme of the file's tags: `"IOB1"` (CoNLL-2003), `"BIO"` (= `"IOB2"`), `"BIOES"`
        (= `"BIOUL"`) or `"BMES"`.
    convert_to : `str`, optional (default = `"BIOES"`)
        The scheme of the instances' tags (`"BIOES"` as in the paper, `"BIO"`, `"IOB1"`,
        `"BMES"`), or `None` to keep the file's tags unchanged.
    hold_out : `float`, optional (default = `None`)
        Set aside this many sentences of `hold_out_file` (a count when at least 1, a fraction
        when below 1), drawn with `seed`; the reader reads the others, or only them with
        `read_held_out`.
    hold_out_file : `str`, optional (default = `None`)
        The file to hold sentences out of; required with `hold_out`.
    read_held_out : `bool`, optional (default = `False`)
    encoding, language, token_indexers, label_namespace, sample, seed, tag_map, skip_invalid
        See `TaggingDatasetReader` (`encoding` defaults to `"utf-8"`, `skip_invalid` to
        `False`). `sample` applies after `hold_out`; `skip_invalid` before it.
    """

    def __init__(
        self,
        token_column: int = 0,
        label_column: int = -1,
        num_columns: Optional[int] = None,
        tag_scheme: str = "BIO",
        convert_to: Optional[str] = "BIOES",
        hold_out: Optional[float] = None,
        hold_out_file: Optional[str] = None,
        read_held_out: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(tag_scheme=tag_scheme, convert_to=convert_to, **kwargs)
        if num_columns is not None and num_columns < 2:
            raise ConfigurationError(f"num_columns must be at least 2 (a token and a tag), got {num_columns}")
        if hold_out is not None and hold_out <= 0:
            raise ConfigurationError(f"hold_out must be a positive count or fraction, got {hold_out}")
        if (hold_out is None) != (hold_out_file is None):
            raise ConfigurationError("hold_out and hold_out_file go together")
        if read_held_out and hold_out is None:
            raise ConfigurationError("read_held_out needs hold_out and hold_out_file")
        # the fewest columns that hold both the token and the label column
        self._columns_needed = 1 + max(token_column, label_column, -token_column - 1, -label_column - 1)
        if num_columns is not None and num_columns < self._columns_needed:
            raise ConfigurationError(
                f"token_column {token_column} and label_column {label_column} do not fit in {num_columns} columns"
            )
        self.token_column = token_column
        self.label_column = label_column
        self.num_columns = num_columns
        self.hold_out = hold_out
        self.hold_out_file = hold_out_file
        self.read_held_out = read_held_out

    def _read_sentences(self, path: str) -> Iterator[Sentence]:
        sentences = self._read_file(path)
        if self.hold_out is None or not _same_file(path, self.hold_out_file):
            yield from sentences
            return
        every = list(sentences)
        count = int(self.hold_out) if self.hold_out >= 1 else round(self.hold_out * len(every))
        if count >= len(every):
            raise ConfigurationError(f"hold_out {self.hold_out} leaves no sentences of the {len(every)} in {path}")
        held_out = set(random.Random(self.seed).sample(range(len(every)), count))
        yield from (sentence for i, sentence in enumerate(every) if (i in held_out) == self.read_held_out)

    def _read_file(self, path: str) -> Iterator[Sentence]:
        columns_expected = self.num_columns or self._most_common_column_count(path)
        return self.parsed_sentences(path, lambda lines: self._parse(path, lines, columns_expected))

    def _parse(self, path: str, lines: Lines, columns_expected: Optional[int]) -> Optional[Sentence]:
        tokens: List[str] = []
        tags: List[str] = []
        for number, line in lines:
            if line.startswith("-DOCSTART-"):
                continue
            columns = line.split()
            if columns_expected is None:
                raise DataFormatError(
                    path,
                    number,
                    f"token column {self.token_column} and label column {self.label_column} need at least "
                    f"{self._columns_needed} columns, found {len(columns)}: {line[:80]!r}",
                )
            if len(columns) != columns_expected:
                raise DataFormatError(
                    path,
                    number,
                    f"expected {columns_expected} whitespace-separated columns, found {len(columns)}: {line[:80]!r}",
                )
            tag = columns[self.label_column]
            self.check_word(columns[self.token_column], path, number)
            self.check_tag(tag, path, number)
            tokens.append(columns[self.token_column])
            tags.append(tag)
        return (tokens, self.convert_tags(tags)) if tokens else None

    def _most_common_column_count(self, path: str) -> Optional[int]:
        """The most common column count of `path`'s token lines that hold the token and label
        columns (`None` when no line does)."""
        counts: Counter = Counter()
        for _, line in numbered_lines(path, self.encoding):
            if isinstance(line, str) and line.strip() and not line.startswith("-DOCSTART-"):
                count = len(line.split())
                if count >= self._columns_needed:
                    counts[count] += 1
        return counts.most_common(1)[0][0] if counts else None


def _same_file(path: str, other: Optional[str]) -> bool:
    return other is not None and os.path.realpath(path) == os.path.realpath(other)
