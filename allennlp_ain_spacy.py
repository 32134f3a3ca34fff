"""
A spaCy pipeline component that runs an `ain_tagger` archive: `nlp.add_pipe("ain_tagger",
config={"archive": "model.tar.gz"})`. The factory is found through the `spacy_factories` entry
point (`allennlp_ain_spacy:make_ain_tagger`), so the plugin need not be imported by hand.

spaCy imports every `spacy_factories` entry point whenever a `Language` is created, so this module
is a top-level module of the distribution rather than part of the `allennlp_ain` package: importing
anything under `allennlp_ain` runs the package's `__init__`, which imports AllenNLP and torch to
register the components, and every `spacy.blank()` / `spacy.load()` of every pipeline would pay for
that. This module imports only spaCy; AllenNLP (and `allennlp_ain`) are imported when an archive is
first loaded. `allennlp_ain.spacy_component` re-exports it.
"""
import shutil
import warnings
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Union

from spacy.language import Language
from spacy.parts_of_speech import IDS as _UPOS_IDS
from spacy.tokens import Doc, Span, Token
from spacy.util import filter_spans, minibatch

_ARCHIVE_NAME = "model.tar.gz"
_EXPORTED_NAME = "exported"
_TOKEN_ATTRS = ("tag", "pos")


@Language.factory(
    "ain_tagger",
    assigns=[
        "doc.ents",
        "doc.spans",
        "token.tag",
        "token.pos",
        "token._.ain_confidence",
        "token._.ain_label",
        "token._.ain_labels",
        "token._.ain_confidences",
    ],
    default_config={
        "archive": None,
        "exported": None,
        "token_attr": "tag",
        "set_ents": True,
        "cuda_device": -1,
        "batch_size": 64,
        "task": None,
        "targets": None,
        "language": None,
        "zero_shot": False,
    },
)
def make_ain_tagger(
    nlp: Language,
    name: str,
    archive: Optional[str],
    exported: Optional[str],
    token_attr: Optional[str],
    set_ents: bool,
    cuda_device: int,
    batch_size: int,
    task: Optional[str],
    targets: Optional[Dict[str, str]],
    language: Optional[str],
    zero_shot: Union[bool, str],
) -> "AinTaggerComponent":
    """The `ain_tagger` factory; see `AinTaggerComponent` for the settings."""
    return AinTaggerComponent(
        nlp,
        name,
        archive=archive,
        exported=exported,
        token_attr=token_attr,
        set_ents=set_ents,
        cuda_device=cuda_device,
        batch_size=batch_size,
        task=task,
        targets=targets,
        language=language,
        zero_shot=zero_shot,
    )


class AinTaggerComponent:
    """
    Tags the tokens of a `Doc` with an `ain_tagger` model (the `Doc`'s own tokens are the model's
    input; whitespace tokens are skipped and get no label).

    Writes:

    - `Token._.ain_label` (the predicted label) and `Token._.ain_confidence` (its marginal
      probability under the model's decoder) on every non-whitespace token;
    - the label to `token.tag_` (`token_attr="tag"`) or `token.pos_` (`"pos"`; spaCy accepts only
      Universal POS tags there, so other labels are left out with a warning), or to neither (`None`);
    - for models with a `label_encoding` (NER-style span labels) and `set_ents=True`, the predicted
      spans to `doc.ents`, replacing earlier entities. Overlapping spans are filtered with
      `spacy.util.filter_spans`, with a warning.

    `predict(docs)` runs the model on docs and `set_annotations(docs, predictions)` writes the
    results. However many docs `predict` gets (spaCy hands `pipe` batches of `nlp.pipe`'s
    `batch_size`, 1000 unless told), each model call takes at most the component's `batch_size` of
    them, docs of similar length together (sorted by their number of tokens, so that little goes
    to padding); the docs come back in their order, with the same results as one doc at a time. A
    doc with no tokens but whitespace (or none at all) is not sent to the model and gets no
    annotation. The archive is loaded on first use. `to_disk` copies it into the component's
    folder and `from_disk` loads it from there, so `nlp.to_disk` / `spacy.load` keep the model
    with the pipeline.

    # Parameters

    nlp : `Language`
    name : `str`
    archive : `str`, optional (default = `None`)
        Path (or URL) of an AllenNLP archive of an `ain_tagger` model. One of `archive` and
        `exported` is required.
    exported : `str`, optional (default = `None`)
        The folder `allennlp ain-export` wrote (ONNX graph and `tagger.json`): the component runs
        it with onnxruntime (`allennlp_ain_onnx.ExportedTagger`, on the CPU) and never imports torch
        or AllenNLP; the annotations are the same as the archive's. `task`, `targets` and
        `cuda_device` do not apply (an exported tagger has one head).
    token_attr : `str`, optional (default = `"tag"`)
        `"tag"`, `"pos"` or `None`.
    set_ents : `bool`, optional (default = `True`)
    cuda_device : `int`, optional (default = `-1`)
        The GPU to run on, or -1 for the CPU.
    batch_size : `int`, optional (default = `64`)
        The most docs per model call, whatever batches spaCy passes to `pipe` (`nlp.pipe`'s own
        `batch_size` is how many docs `pipe` reads, and sorts by length, at a time).
    task : `str`, optional (default = `None`)
        Which of the model's tagging heads writes the annotations; `None` for a model with one head.
        The component reaches the model only through the `ain_tagger` predictor, which talks to
        that head.
    targets : `Dict[str, str]`, optional (default = `None`)
        For a multi-task archive (`ain_multitask_tagger`): where each task's output goes, all tasks
        from one model pass per batch. A target is `"tag"` (`token.tag_`), `"pos"` (`token.pos_`,
        Universal POS only), `"ents"` (`doc.ents`), `"spans:KEY"` (`doc.spans[KEY]`, overlaps
        allowed) or `"none"`; every task also goes to `Token._.ain_labels[task]` and
        `Token._.ain_confidences[task]`. `token_attr` and `set_ents` do not apply then.
    language : `str`, optional (default = `None`)
        For a multilingual archive (a model with `languages`, Lin et al. 2018): the language of the
        docs, which selects its word embeddings and gates; `None` takes the pipeline's `nlp.lang`.
        A language the model does not know is a `ValueError` that lists those it knows, unless
        `zero_shot` asks for it. Other archives ignore it.
    zero_shot : `Union[bool, str]`, optional (default = `False`)
        For a multilingual archive: tag docs of a language the model does not know with its
        universal projections alone; with word embeddings per language, name the known language
        whose word embeddings read the docs' words (the `ain_tagger` predictor's `zero_shot`).
    """

    def __init__(
        self,
        nlp: Language,
        name: str,
        archive: Optional[Union[str, Path]] = None,
        exported: Optional[Union[str, Path]] = None,
        token_attr: Optional[str] = "tag",
        set_ents: bool = True,
        cuda_device: int = -1,
        batch_size: int = 64,
        task: Optional[str] = None,
        targets: Optional[Dict[str, str]] = None,
        language: Optional[str] = None,
        zero_shot: Union[bool, str] = False,
    ) -> None:
        if token_attr not in _TOKEN_ATTRS + (None,):
            raise ValueError(f"{name}: token_attr must be one of {_TOKEN_ATTRS} or None, got {token_attr!r}")
        if batch_size < 1:
            raise ValueError(f"{name}: batch_size must be positive, got {batch_size}")
        if (archive is None) == (exported is None):
            raise ValueError(f"{name}: give the archive (PyTorch) or the exported folder (ONNX), exactly one of them")
        if exported is not None and (task is not None or targets is not None):
            raise ValueError(f"{name}: an exported tagger has one head; task and targets do not apply")
        self.name = name
        self.vocab = nlp.vocab
        self.archive = str(archive) if archive is not None else None
        self.exported = str(exported) if exported is not None else None
        self.token_attr = token_attr
        self.set_ents = set_ents
        self.cuda_device = cuda_device
        self.batch_size = batch_size
        self.task = task
        if targets is not None:
            if task is not None:
                raise ValueError(f"{name}: give task (one head) or targets (several), not both")
            for target_task, target in targets.items():
                if target not in ("tag", "pos", "ents", "none") and not (target.startswith("spans:") and target[6:]):
                    raise ValueError(
                        f"{name}: target {target!r} of task {target_task!r} must be 'tag', 'pos', 'ents', "
                        "'spans:KEY' or 'none'"
                    )
            if list(targets.values()).count("ents") > 1:
                raise ValueError(f"{name}: only one task can write doc.ents, got {targets}")
        self.targets = dict(targets) if targets is not None else None
        self.language = language if language is not None else nlp.lang
        self.zero_shot = zero_shot
        self._predictor: Any = None
        for extension in ("ain_labels", "ain_confidences"):
            if not Token.has_extension(extension):
                Token.set_extension(extension, default=None)
        for extension in ("ain_confidence", "ain_label"):
            if not Token.has_extension(extension):
                Token.set_extension(extension, default=None)

    @property
    def predictor(self) -> Any:
        """
        The `ain_tagger` predictor of the archive, loaded on first use; with `exported`, the
        exported tagger behind the same `predict_batch_json` (no torch or AllenNLP loaded).
        """
        if self._predictor is None and self.exported is not None:
            self._predictor = _ExportedPredictor(self.exported, self.name)
        if self._predictor is None:
            from allennlp.predictors import Predictor

            import allennlp_ain  # noqa: F401  (registers the model, readers and predictor)

            try:
                self._predictor = Predictor.from_path(
                    self.archive, "ain_tagger", cuda_device=self.cuda_device, task=self.task, zero_shot=self.zero_shot
                )
            except FileNotFoundError as error:
                raise ValueError(f"{self.name}: cannot load the archive {self.archive!r}: {error}") from None
        return self._predictor

    def __call__(self, doc: Doc) -> Doc:
        self.set_annotations([doc], self.predict([doc]))
        return doc

    def pipe(self, stream: Iterable[Doc], batch_size: Optional[int] = None) -> Iterator[Doc]:
        """
        Tag the docs of `stream`, reading `batch_size` of them at a time (spaCy passes `nlp.pipe`'s
        `batch_size`; default: the component's); `predict` splits them into model calls of at most
        the component's `batch_size` docs.
        """
        for docs in minibatch(stream, size=batch_size or self.batch_size):
            self.set_annotations(docs, self.predict(docs))
            yield from docs

    def predict(self, docs: List[Doc]) -> List[Optional[Dict[str, Any]]]:
        """
        The predictor's output for each doc (`tags`, `confidence`, `spans` with token offsets into
        the non-whitespace tokens) plus `indices`, the doc positions of those tokens; `None` for a
        doc with nothing to tag. Model calls take at most `batch_size` docs, of similar lengths.
        """
        indices = [[token.i for token in doc if not token.is_space] for doc in docs]
        predictions: List[Optional[Dict[str, Any]]] = [None] * len(indices)
        by_length = sorted((n for n, positions in enumerate(indices) if positions), key=lambda n: len(indices[n]))
        language = self._language_input() if by_length else {}
        for start in range(0, len(by_length), self.batch_size):
            chunk = by_length[start : start + self.batch_size]
            inputs = [dict(language, tokens=[docs[n][i].text for i in indices[n]]) for n in chunk]
            for n, output in zip(chunk, self.predictor.predict_batch_json(inputs)):
                predictions[n] = dict(output, indices=indices[n])
        return predictions

    def _language_input(self) -> Dict[str, str]:
        """`{"language": ...}` for a multilingual archive's inputs (checked), `{}` for another."""
        languages = getattr(self.predictor, "languages", None)
        if not languages:
            return {}
        if self.language not in languages and not getattr(self.predictor, "zero_shot", False):
            raise ValueError(
                f"{self.name}: the archive's model knows the languages {languages}, not {self.language!r} "
                "(the component's `language`, else the pipeline's nlp.lang): set `language` to one of them, "
                "or `zero_shot` to tag it with the universal projections"
            )
        return {"language": self.language}

    def set_annotations(self, docs: Iterable[Doc], predictions: List[Optional[Dict[str, Any]]]) -> None:
        for doc, prediction in zip(docs, predictions):
            if prediction is None:
                continue
            if self.targets is not None:
                self._set_task_annotations(doc, prediction)
                continue
            if "tags" not in prediction:
                tasks = sorted(set(prediction) - {"tokens", "indices"})
                raise ValueError(
                    f"{self.name}: the archive has several tagging heads {tasks}; set `targets` (task -> "
                    "'tag' | 'pos' | 'ents' | 'spans:KEY' | 'none') or `task`"
                )
            positions = prediction["indices"]
            invalid_pos = set()
            for i, label, confidence in zip(positions, prediction["tags"], prediction["confidence"]):
                token = doc[i]
                token._.ain_label = label
                token._.ain_confidence = confidence
                if self.token_attr == "tag":
                    token.tag_ = label
                elif self.token_attr == "pos":
                    if label in _UPOS_IDS:
                        token.pos_ = label
                    else:
                        invalid_pos.add(label)
            if invalid_pos:
                warnings.warn(
                    f"{self.name}: labels {sorted(invalid_pos)} are not Universal POS tags and were not "
                    "written to token.pos_ (use token_attr='tag'; Token._.ain_label holds every label)"
                )
            if self.set_ents and "spans" in prediction:
                self._set_ents(doc, positions, prediction["spans"])

    def _set_task_annotations(self, doc: Doc, prediction: Dict[str, Any]) -> None:
        assert self.targets is not None
        positions = prediction["indices"]
        missing = sorted(set(self.targets) - set(prediction))
        if missing:
            raise ValueError(f"{self.name}: the archive has no task {missing}; it has {sorted(set(prediction) - {'tokens', 'indices'})}")
        for i in positions:
            doc[i]._.ain_labels, doc[i]._.ain_confidences = {}, {}
        for task, target in self.targets.items():
            output = prediction[task]
            invalid_pos = set()
            for i, label, confidence in zip(positions, output["tags"], output["confidence"]):
                doc[i]._.ain_labels[task] = label
                doc[i]._.ain_confidences[task] = confidence
                if target == "tag":
                    doc[i].tag_ = label
                elif target == "pos":
                    if label in _UPOS_IDS:
                        doc[i].pos_ = label
                    else:
                        invalid_pos.add(label)
            if invalid_pos:
                warnings.warn(f"{self.name}: labels {sorted(invalid_pos)} of task {task!r} are not Universal POS tags")
            spans = output.get("spans")
            if target == "ents" and spans is not None:
                self._set_ents(doc, positions, spans)
            elif target.startswith("spans:") and spans is not None:
                doc.spans[target[6:]] = [
                    Span(doc, positions[s["start"]], positions[s["end"] - 1] + 1, label=s["label"]) for s in spans
                ]

    def _set_ents(self, doc: Doc, positions: List[int], spans: List[Dict[str, Any]]) -> None:
        entities = [Span(doc, positions[s["start"]], positions[s["end"] - 1] + 1, label=s["label"]) for s in spans]
        kept = filter_spans(entities)
        if len(kept) < len(entities):
            dropped = sorted(set(entities) - set(kept), key=lambda span: span.start)
            warnings.warn(
                f"{self.name}: dropped overlapping entity spans "
                f"{[(span.text, span.label_, span.start, span.end) for span in dropped]}"
            )
        doc.ents = kept

    def to_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()) -> None:
        """Copy the archive (or the exported folder, as `exported/`) into the component's folder `path`."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        if self.exported is not None:
            source_dir, target_dir = Path(self.exported), path / _EXPORTED_NAME
            if source_dir.resolve() != target_dir.resolve():
                shutil.copytree(source_dir, target_dir, dirs_exist_ok=True)
            return
        source = Path(self.archive)
        if not source.is_file():
            raise ValueError(f"{self.name}: cannot save the pipeline, the archive {self.archive!r} is not a file")
        target = path / _ARCHIVE_NAME
        if source.resolve() != target.resolve():
            shutil.copyfile(source, target)

    def from_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = tuple()) -> "AinTaggerComponent":
        """Use the archive (or exported folder) saved in the component's folder `path` (loaded on first use)."""
        exported = Path(path) / _EXPORTED_NAME
        if exported.is_dir():
            self.exported, self.archive = str(exported), None
            self._predictor = None
            return self
        archive = Path(path) / _ARCHIVE_NAME
        if not archive.is_file():
            raise ValueError(f"{self.name}: no {_ARCHIVE_NAME} in {path}; was the pipeline saved with to_disk?")
        self.archive, self.exported = str(archive), None
        self._predictor = None
        return self


class _ExportedPredictor:
    """An exported tagger (`allennlp_ain_onnx.ExportedTagger`) with the predictor's `predict_batch_json` for `{"tokens"}` inputs."""

    def __init__(self, path: str, name: str) -> None:
        from allennlp_ain_onnx import ExportedTagger

        try:
            self.tagger = ExportedTagger(path)
        except (ValueError, FileNotFoundError) as error:
            raise ValueError(f"{name}: cannot load the exported tagger {path!r}: {error}") from None

    def predict_batch_json(self, inputs: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        return self.tagger.tag_batch([entry["tokens"] for entry in inputs], batch_size=max(len(inputs), 1))
