from typing import Iterator, Optional

from allennlp.data import DatasetReader

from allennlp_ain.data.dataset_readers.conll import decoded_lines
from allennlp_ain.data.dataset_readers.tagging_reader import DataFormatError, Sentence, TaggingDatasetReader
from allennlp_ain.tag_schemes import check_scheme, convert, tag_error

_INTENT_SEPARATOR = " <=> "


@DatasetReader.register("ain_atis")
class AtisReader(TaggingDatasetReader):
    """
    Reads ATIS slot-filling files: one utterance per line, `w1:TAG1 w2:TAG2 ... wn:TAGn <=> INTENT`.
    Each token is split on its last `:` (words such as `8:30` keep their colon); the intent
    after `<=>` is checked to be present and otherwise ignored (this reader is for slot filling).
    Blank lines are skipped. Tags are checked against `tag_scheme` and rewritten in
    `convert_to` exactly (see `allennlp_ain.tag_schemes`). A malformed line (no `<=>`, a
    token without `:`, an empty word or tag, a tag the scheme does not allow) raises
    `DataFormatError` naming the file and line.

    Registered as a `DatasetReader` with name "ain_atis".

    # Parameters

    tag_scheme : `str`, optional (default = `"BIO"`)
        The scheme of the file's slot tags (ATIS uses BIO, also called IOB2).
    convert_to : `str`, optional (default = `"BIOES"`)
        The scheme of the instances' tags, or `None` to keep the file's tags.
    encoding : `str`, optional (default = `"utf-8"`)
    token_indexers, label_namespace, sample, seed
        See `TaggingDatasetReader`.
    """

    def __init__(
        self,
        tag_scheme: str = "BIO",
        convert_to: Optional[str] = "BIOES",
        encoding: str = "utf-8",
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.tag_scheme = check_scheme(tag_scheme)
        self.convert_to = check_scheme(convert_to) if convert_to is not None else None
        self.encoding = encoding

    def _read_sentences(self, path: str) -> Iterator[Sentence]:
        for number, line in enumerate(decoded_lines(path, self.encoding), start=1):
            if not line.strip():
                continue
            slots, separator, intent = line.rpartition(_INTENT_SEPARATOR)
            if not separator or not intent.strip():
                raise DataFormatError(path, number, f"expected 'w1:TAG1 ... wn:TAGn <=> INTENT', found {line[:80]!r}")
            tokens, tags = [], []
            for position, item in enumerate(slots.split(), start=1):
                word, colon, tag = item.rpartition(":")
                if not colon or not word or not tag:
                    raise DataFormatError(
                        path, number, f"token {position} {item!r} is not 'word:TAG' (split on the last ':')"
                    )
                error = tag_error(tag, self.tag_scheme)
                if error is not None:
                    raise DataFormatError(path, number, f"token {position} {word!r}: {error}")
                tokens.append(word)
                tags.append(tag)
            if not tokens:
                raise DataFormatError(path, number, f"no 'word:TAG' tokens before '<=>': {line[:80]!r}")
            if self.convert_to is not None:
                tags = convert(tags, self.tag_scheme, self.convert_to)
            yield tokens, tags
