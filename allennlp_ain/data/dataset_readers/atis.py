from typing import Iterator, Optional

from allennlp.data import DatasetReader

from allennlp_ain.data.dataset_readers.tagging_reader import DataFormatError, Lines, Sentence, TaggingDatasetReader

_INTENT_SEPARATOR = " <=> "


@DatasetReader.register("ain_atis")
class AtisReader(TaggingDatasetReader):
    """
    Reads ATIS slot-filling files: one utterance per line, `w1:TAG1 w2:TAG2 ... wn:TAGn <=> INTENT`.
    Each token is split on its last `:` (words such as `8:30` keep their colon); the intent
    after `<=>` is checked to be present and otherwise ignored (this reader is for slot filling).
    Blank lines are skipped. Tags are checked against `tag_scheme` and rewritten in
    `convert_to` exactly (see `allennlp_ain.tag_schemes`). A malformed line (no `<=>`, a
    token without `:`, an empty word or tag such as the `:O` of a doubled space, a control
    character, a tag the scheme does not allow, bytes not valid in `encoding`) raises
    `DataFormatError` naming the file and line; with `skip_invalid` the utterance is skipped
    with a warning.

    Registered as a `DatasetReader` with name "ain_atis".

    # Parameters

    tag_scheme : `str`, optional (default = `"BIO"`)
        The scheme of the file's slot tags (ATIS uses BIO, also called IOB2).
    convert_to : `str`, optional (default = `"BIOES"`)
        The scheme of the instances' tags, or `None` to keep the file's tags.
    encoding, language, token_indexers, label_namespace, sample, seed, skip_invalid
        See `TaggingDatasetReader` (`encoding` defaults to `"utf-8"`, `skip_invalid` to `False`).
    """

    def __init__(
        self,
        tag_scheme: str = "BIO",
        convert_to: Optional[str] = "BIOES",
        **kwargs,
    ) -> None:
        super().__init__(tag_scheme=tag_scheme, convert_to=convert_to, **kwargs)

    def _read_sentences(self, path: str) -> Iterator[Sentence]:
        return self.parsed_sentences(path, lambda lines: self._parse(path, lines), one_per_line=True)

    def _parse(self, path: str, lines: Lines) -> Sentence:
        [(number, line)] = lines
        slots, separator, intent = line.rpartition(_INTENT_SEPARATOR)
        if not separator or not intent.strip():
            raise DataFormatError(path, number, f"expected 'w1:TAG1 ... wn:TAGn <=> INTENT', found {line[:80]!r}")
        tokens, tags = [], []
        for position, item in enumerate(slots.split(), start=1):
            word, colon, tag = item.rpartition(":")
            if not colon or not word or not tag:
                raise DataFormatError(path, number, f"token {position} {item!r} is not 'word:TAG' (split on the last ':')")
            self.check_word(word, path, number, where=f"token {position}: ")
            self.check_tag(tag, path, number, where=f"token {position} {word!r}: ")
            tokens.append(word)
            tags.append(tag)
        if not tokens:
            raise DataFormatError(path, number, f"no 'word:TAG' tokens before '<=>': {line[:80]!r}")
        return tokens, self.convert_tags(tags)
