from typing import Iterator, List

from allennlp.data import DatasetReader
from conllu.parser import DEFAULT_FIELDS, ParseException, parse_line

from allennlp_ain.data.dataset_readers.tagging_reader import DataFormatError, Sentence, TaggingDatasetReader

_COLUMNS = {"upos": 3, "xpos": 4}


@DatasetReader.register("ain_ud")
class UniversalDependenciesReader(TaggingDatasetReader):
    """
    Reads CoNLL-U files (Universal Dependencies) for POS tagging: one token per line in 10
    tab-separated columns, sentences separated by blank lines, `#` comment lines ignored.
    Multiword-token ranges (`1-2`) and empty nodes (`1.1`) are skipped, so the tokens are the
    syntactic words that carry the tags. Lines are parsed with the `conllu` package; a malformed
    line, and a byte that is not valid in `encoding`, raise `DataFormatError` naming the file and
    line. The tags have no span scheme unless `tag_scheme` is set.

    Registered as a `DatasetReader` with name "ain_ud".

    # Parameters

    tag_column : `str`, optional (default = `"upos"`)
        `"upos"` (universal POS, column 4) or `"xpos"` (language-specific POS, column 5).
    encoding, language, tag_scheme, convert_to, token_indexers, label_namespace, sample, seed
        See `TaggingDatasetReader` (`encoding` defaults to `"utf-8"`; `tag_scheme` and
        `convert_to` to `None`: POS tags are read as they are).
    """

    def __init__(self, tag_column: str = "upos", **kwargs) -> None:
        super().__init__(**kwargs)
        if tag_column not in _COLUMNS:
            raise ValueError(f"tag_column must be one of {sorted(_COLUMNS)}, got {tag_column!r}")
        self.tag_column = tag_column

    def _read_sentences(self, path: str) -> Iterator[Sentence]:
        for block in self.line_blocks(path):
            tokens: List[str] = []
            tags: List[str] = []
            for number, line in block:
                if line.startswith("#"):
                    continue
                columns = line.split("\t")
                if len(columns) != 10:
                    raise DataFormatError(
                        path, number, f"expected 10 tab-separated CoNLL-U columns, found {len(columns)}: {line[:80]!r}"
                    )
                try:
                    token = parse_line(line, fields=DEFAULT_FIELDS)
                except ParseException as error:
                    raise DataFormatError(path, number, f"malformed CoNLL-U line ({error})") from None
                if not isinstance(token["id"], int):  # multiword range or empty node
                    continue
                tag = columns[_COLUMNS[self.tag_column]]
                if tag == "_" or not tag:
                    raise DataFormatError(path, number, f"token {token['form']!r} has no {self.tag_column.upper()} tag")
                self.check_tag(tag, path, number, where=f"token {token['form']!r}: ")
                tokens.append(token["form"])
                tags.append(tag)
            if tokens:
                yield tokens, self.convert_tags(tags)
