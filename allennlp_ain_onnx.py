"""
The runtime of an exported `ain_tagger` (`allennlp ain-export ARCHIVE FOLDER`): numpy and
onnxruntime only. Importing this module imports neither torch nor AllenNLP, which is why it is a
top-level module of the distribution and not part of the `allennlp_ain` package (whose `__init__`
imports AllenNLP to register the components).

```python
from allennlp_ain_onnx import ExportedTagger

tagger = ExportedTagger("exported/")
tagger.tag(["Maria", "Lopez", "flew", "to", "Berlin"])
# {"tokens": [...], "tags": ["B-PER", "E-PER", "O", "O", "S-LOC"], "confidence": [...],
#  "spans": [{"label": "PER", "start": 0, "end": 2}, {"label": "LOC", "start": 4, "end": 5}]}
tagger.tag_batch([["Anna", "visited", "Paris"], ["Tom", "met", "Sara"]], batch_size=64)
```

Words become ids as the archive's AllenNLP token indexers make them (`tagger.json` records their
settings): `single_id` looks a word up (lowercased when `lowercase_tokens`), `ain_cased_single_id`
looks it up as written, then lowercased, and an unknown word gets the OOV id; `characters` looks up
each character (or UTF-8 byte + 1 with `byte_encoding`), unknown ones get the OOV id. A batch is
padded with 0 to its longest sentence (at least `token_min_padding_length`, and at least the
graph's `min_batch_length` from `tagger.json`; `ain-export` writes 1, so a batch of one-word
sentences runs unpadded; padding would change no output) and, for characters, to its longest word (at least `min_padding_length`), as AllenNLP pads.
"""
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy

FORMAT = "allennlp-ain-exported-tagger"
DESCRIPTION_FILE = "tagger.json"

Span = Tuple[str, int, int]


class ExportedTagger:
    """
    Tags lists of words with an exported `ain_tagger` folder (`model.onnx` + `tagger.json`, and
    `model.int8.onnx` when exported with `--quantize`).

    `tag_batch(sentences)` returns, per sentence, what the `ain_tagger` predictor returns for
    `{"tokens": words}`: `tokens`, `tags`, `confidence` (the decoder's marginal probability of each
    predicted label) and, for a model with a `label_encoding`, `spans` (`{"label", "start", "end"}`,
    `end` exclusive, read from the tags like `conlleval`), plus `marginals` (per token
    `{label: probability}`) when asked for. An empty word list gets empty lists.

    # Parameters

    path : `Union[str, Path]`
        The exported folder.
    quantized : `bool`, optional (default = `False`)
        Run `model.int8.onnx` (exported with `--quantize`) instead of `model.onnx`.
    threads : `int`, optional (default = `None`)
        onnxruntime's intra-op threads; `None` lets onnxruntime choose.
    providers : `List[str]`, optional (default = `["CPUExecutionProvider"]`)
        onnxruntime execution providers, e.g. `["CUDAExecutionProvider", "CPUExecutionProvider"]`.
    """

    def __init__(
        self,
        path: Union[str, Path],
        quantized: bool = False,
        threads: Optional[int] = None,
        providers: Optional[List[str]] = None,
    ) -> None:
        import onnxruntime

        self.path = Path(path)
        description_file = self.path / DESCRIPTION_FILE
        if not description_file.is_file():
            raise ValueError(f"{self.path} is not an exported tagger: it has no {DESCRIPTION_FILE} (run allennlp ain-export)")
        self.description: Dict[str, Any] = json.loads(description_file.read_text(encoding="utf-8"))
        if self.description.get("format") != FORMAT:
            raise ValueError(f"{description_file} is not the description of an exported ain_tagger")
        model_file = self.description["model_file"]
        if quantized:
            model_file = self.description.get("quantized_model_file")
            if not model_file:
                raise ValueError(f"{self.path} has no quantized model; export it with --quantize")
        self.labels: List[str] = list(self.description["labels"])
        self.label_encoding: Optional[str] = self.description.get("label_encoding")
        min_length = int(self.description.get("min_batch_length") or 1)
        self._inputs = [_Indexer(entry, min_length) for entry in self.description["inputs"]]
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        if threads is not None:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(self.path / model_file), options, providers=providers or ["CPUExecutionProvider"]
        )

    def index(self, sentences: Sequence[Sequence[str]]) -> Dict[str, numpy.ndarray]:
        """The padded id arrays of `sentences` (non-empty word lists), by ONNX input name."""
        return {indexer.name: indexer.batch(sentences) for indexer in self._inputs}

    def run(self, sentences: Sequence[Sequence[str]]) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
        """
        One model call on non-empty word lists: label ids `(batch, seq)` int64, confidences
        `(batch, seq)` and marginals `(batch, seq, labels)` float32, padded (read each row up to
        its sentence's length).
        """
        if not sentences or any(len(words) == 0 for words in sentences):
            raise ValueError("run takes a non-empty list of non-empty word lists")
        tags, confidence, marginals = self._session.run(None, self.index(sentences))
        return tags, confidence, marginals

    def tag(self, words: Sequence[str], marginals: bool = False) -> Dict[str, Any]:
        """The output for one sentence (see the class docstring)."""
        return self.tag_batch([words], marginals=marginals)[0]

    def tag_batch(
        self, sentences: Sequence[Sequence[str]], batch_size: int = 64, marginals: bool = False
    ) -> List[Dict[str, Any]]:
        """
        The outputs for `sentences`, in their order. Model calls take at most `batch_size`
        sentences of similar lengths (sorted by length, so little goes to padding); the result
        does not depend on the batching.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        for number, words in enumerate(sentences):
            if isinstance(words, str) or not all(isinstance(word, str) and word.strip() for word in words):
                # as the predictor: a blank word is an error, not a token
                raise ValueError(f"sentence {number} must be a list of non-blank strings, got {words!r}")
        results: List[Optional[Dict[str, Any]]] = [None] * len(sentences)
        order = sorted((n for n in range(len(sentences)) if sentences[n]), key=lambda n: len(sentences[n]))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            tags, confidence, distributions = self.run([sentences[n] for n in chunk])
            for row, n in enumerate(chunk):
                length = len(sentences[n])
                results[n] = self._format(
                    sentences[n], tags[row, :length], confidence[row, :length], distributions[row, :length] if marginals else None
                )
        for n, words in enumerate(sentences):
            if results[n] is None:
                results[n] = self._format(words, numpy.zeros(0, dtype=numpy.int64), numpy.zeros(0), None)
        return results  # type: ignore[return-value]

    def _format(
        self, words: Sequence[str], ids: numpy.ndarray, confidence: numpy.ndarray, distributions: Optional[numpy.ndarray]
    ) -> Dict[str, Any]:
        tags = [self.labels[i] for i in ids.tolist()]
        result: Dict[str, Any] = {"tokens": list(words), "tags": tags, "confidence": confidence.tolist()}
        if self.label_encoding is not None:
            result["spans"] = [{"label": label, "start": start, "end": end} for label, start, end in read_spans(tags)]
        if distributions is not None:
            result["marginals"] = [dict(zip(self.labels, row)) for row in distributions.tolist()]
        return result


class _Indexer:
    """One token indexer of `tagger.json`: words to padded ids, as its AllenNLP indexer does."""

    def __init__(self, entry: Dict[str, Any], min_length: int = 1) -> None:
        self.name: str = entry["name"]
        self.kind: str = entry["kind"]
        if self.kind not in ("words", "characters"):
            raise ValueError(f"unknown input kind {self.kind!r} in tagger.json")
        self.ids = {token: index for index, token in enumerate(entry["vocabulary"])}
        self.oov: Optional[int] = entry.get("oov_id")
        self.entry = entry
        # the graph's own minimum (`min_batch_length` of tagger.json) and the indexer's
        self.token_min_padding_length = max(int(entry.get("token_min_padding_length") or 0), min_length)

    def _lookup(self, text: str) -> int:
        index = self.ids.get(text)
        if index is not None:
            return index
        if self.oov is None:
            raise ValueError(f"{text!r} is not in the vocabulary of input {self.name!r}, which has no OOV token")
        return self.oov

    def word_id(self, word: str) -> int:
        entry = self.entry
        if entry.get("lowercase_tokens"):
            return self._lookup(word.lower())
        if entry.get("lowercase_fallback") and word not in self.ids:
            return self._lookup(word.lower())
        return self._lookup(word)

    def character_ids(self, word: str) -> List[int]:
        entry = self.entry
        if entry.get("lowercase_characters"):
            word = word.lower()
        if entry.get("byte_encoding"):
            return [byte + 1 for byte in word.encode(entry["byte_encoding"])]
        return [self._lookup(character) for character in word]

    def batch(self, sentences: Sequence[Sequence[str]]) -> numpy.ndarray:
        length = max(max(len(words) for words in sentences), self.token_min_padding_length)
        if self.kind == "words":
            ids = numpy.zeros((len(sentences), length), dtype=numpy.int64)
            for row, words in enumerate(sentences):
                ids[row, : len(words)] = [self.word_id(word) for word in words]
            return ids
        characters = [[self.character_ids(word) for word in words] for words in sentences]
        width = max([int(self.entry.get("min_padding_length") or 0)] + [len(c) for words in characters for c in words])
        ids = numpy.zeros((len(sentences), length, width), dtype=numpy.int64)
        for row, words in enumerate(characters):
            for column, word in enumerate(words):
                ids[row, column, : len(word)] = word
        return ids


# The roles of the span prefixes, read without a scheme like `allennlp_ain.tag_schemes.tags_to_spans`
# reads predictions (that module imports AllenNLP, which this one must not; tests compare the two).
_ROLES = {"B": "begin", "I": "inside", "M": "inside", "E": "end", "L": "end", "S": "single", "U": "single"}


def read_spans(tags: Sequence[str]) -> List[Span]:
    """
    `(label, start, end)` spans of predicted `tags`, `end` exclusive, read like `conlleval`
    without a scheme (`allennlp_ain.tag_schemes.extract_spans`): a span starts at a begin or single
    tag, and at an inside or end tag after `O`, an end or single tag, or a tag of another type; it
    goes on until a tag starts a new span or an `O` comes. A label that is neither `O` nor
    `P-TYPE` is a one-token span of its own type.
    """
    spans: List[Span] = []
    start: Optional[int] = None
    previous_role, previous_type = "outside", ""
    for index, tag in enumerate(tags):
        if tag == "O":
            role, label_type = "outside", ""
        elif len(tag) > 2 and tag[1] == "-" and tag[0] in _ROLES:
            role, label_type = _ROLES[tag[0]], tag[2:]
        else:
            role, label_type = "single", tag
        starts = role in ("begin", "single") or (
            role in ("inside", "end") and (previous_role in ("outside", "end", "single") or label_type != previous_type)
        )
        if start is not None and (role == "outside" or starts):
            spans.append((previous_type, start, index))
            start = None
        if starts:
            start = index
        previous_role, previous_type = role, label_type
    if start is not None:
        spans.append((previous_type, start, len(tags)))
    return spans
