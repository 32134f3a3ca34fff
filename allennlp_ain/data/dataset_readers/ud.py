from typing import Any, Dict, Iterator, List, Optional

from allennlp.data import DatasetReader
from conllu.parser import DEFAULT_FIELD_PARSERS, DEFAULT_FIELDS, ParseException

from allennlp_ain.data.dataset_readers.tagging_reader import DataFormatError, Lines, Sentence, TaggingDatasetReader

_COLUMNS = {"upos": 3, "xpos": 4}
# the 17 Universal POS tags of UD v2, and CONJ of UD v1 (which v2 renamed CCONJ; still in use, in
# the UD v1 Dutch LassySmall for one)
UNIVERSAL_POS_TAGS = frozenset(
    "ADJ ADP ADV AUX CCONJ DET INTJ NOUN NUM PART PRON PROPN PUNCT SCONJ SYM VERB X".split()
) | {"CONJ"}


@DatasetReader.register("ain_ud")
class UniversalDependenciesReader(TaggingDatasetReader):
    """
    Reads CoNLL-U files (Universal Dependencies) for POS tagging: one token per line in 10
    tab-separated columns, sentences separated by blank lines, `#` comment lines ignored.
    Multiword-token ranges (`1-2`) and empty nodes (`1.1`) are skipped, so the tokens are the
    syntactic words that carry the tags. The fields are parsed with the `conllu` package's field
    parsers. A malformed line (not 10 columns, a bad ID, HEAD, FEATS, DEPS or MISC, an empty
    FORM or one with whitespace or a control character, a UPOS outside the Universal POS tags
    (the 17 of UD v2 and `CONJ` of UD v1), a missing tag) and a byte that is not valid in
    `encoding` raise `DataFormatError` naming the file and line; with `skip_invalid` the
    sentence is skipped with a warning. The tags have no span scheme unless `tag_scheme` is
    set.

    Registered as a `DatasetReader` with name "ain_ud".

    # Parameters

    tag_column : `str`, optional (default = `"upos"`)
        `"upos"` (universal POS, column 4) or `"xpos"` (language-specific POS, column 5). With
        `"xpos"` the UPOS column may be `_`; any other UPOS is still checked.
    encoding, language, tag_scheme, convert_to, token_indexers, label_namespace, sample, seed, tag_map, skip_invalid
        See `TaggingDatasetReader` (`encoding` defaults to `"utf-8"`; `tag_scheme` and
        `convert_to` to `None`: POS tags are read as they are; `skip_invalid` to `False`).
    """

    def __init__(self, tag_column: str = "upos", **kwargs) -> None:
        super().__init__(**kwargs)
        if tag_column not in _COLUMNS:
            raise ValueError(f"tag_column must be one of {sorted(_COLUMNS)}, got {tag_column!r}")
        self.tag_column = tag_column

    def _read_sentences(self, path: str) -> Iterator[Sentence]:
        return self.parsed_sentences(path, lambda lines: self._parse(path, lines))

    def _parse(self, path: str, lines: Lines) -> Optional[Sentence]:
        tokens: List[str] = []
        tags: List[str] = []
        for number, line in lines:
            if line.startswith("#"):
                continue
            columns = line.split("\t")
            if len(columns) != 10:
                raise DataFormatError(
                    path, number, f"expected 10 tab-separated CoNLL-U columns, found {len(columns)}: {line[:80]!r}"
                )
            token_id = self._parsed_fields(path, number, columns)["id"]
            if isinstance(token_id, tuple):  # multiword range or empty node
                continue
            if token_id is None or token_id < 1:
                raise DataFormatError(path, number, f"malformed CoNLL-U ID {columns[0]!r}: a word's ID is 1, 2, ...")
            form, upos = columns[1], columns[3]
            if not form:
                raise DataFormatError(path, number, "empty FORM (a word is at least '_')")
            self.check_word(form, path, number)
            if upos != "_" and upos not in UNIVERSAL_POS_TAGS:
                raise DataFormatError(
                    path,
                    number,
                    f"token {form!r}: UPOS {upos!r} is not a Universal POS tag (one of {' '.join(sorted(UNIVERSAL_POS_TAGS))})",
                )
            tag = columns[_COLUMNS[self.tag_column]]
            if tag == "_" or not tag:
                raise DataFormatError(path, number, f"token {form!r} has no {self.tag_column.upper()} tag")
            self.check_tag(tag, path, number, where=f"token {form!r}: ")
            tokens.append(form)
            tags.append(tag)
        return (tokens, self.convert_tags(tags)) if tokens else None

    @staticmethod
    def _parsed_fields(path: str, number: int, columns: List[str]) -> Dict[str, Any]:
        """The fields that the `conllu` package parses (ID, XPOS, FEATS, HEAD, DEPS, MISC), parsed
        from the tab-separated `columns` (`conllu.parse_line` would also split at double spaces)."""
        parsed = {}
        for index, field in enumerate(DEFAULT_FIELDS):
            if field in DEFAULT_FIELD_PARSERS:
                try:
                    parsed[field] = DEFAULT_FIELD_PARSERS[field](columns, index)
                except ParseException as error:
                    raise DataFormatError(path, number, f"malformed CoNLL-U {field.upper()} ({error})") from None
        return parsed
