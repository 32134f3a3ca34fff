import copy
import json
from typing import Any, Dict, List, NamedTuple, Optional, Tuple, Union

import spacy
import torch
from allennlp.common.tqdm import Tqdm
from allennlp.common.util import JsonDict, sanitize
from allennlp.data import Batch, DatasetReader, Instance
from allennlp.models import Model
from allennlp.nn import util
from allennlp.predictors import Predictor

from allennlp_ain.data.dataset_readers.tagging_reader import TaggingDatasetReader
from allennlp_ain.modules.text_field_embedders.multilingual import MultilingualEmbedder
from allennlp_ain.tag_schemes import extract_spans


class _Request(NamedTuple):
    instance: Instance
    text: Optional[str]  # the raw sentence, when one was given
    offsets: Optional[List[Tuple[int, int]]]  # character (start, end) of each token in `text`
    top_k: int
    marginals: bool  # add every token's label distribution


class _Line(dict):
    """
    What `load_line` makes of an input line: the line's JSON object with the request already made
    of it, or, for a bad line, the error object `{"error", "input"}` that is its output (`request`
    is `None`). A dict, as `allennlp predict` expects (it prints it with `json.dumps`).
    """

    def __init__(self, content: JsonDict, request: Optional[_Request]) -> None:
        super().__init__(content)
        self.request = request


@Predictor.register("ain_tagger")
class AinTaggerPredictor(Predictor):
    """
    Tags raw or pre-tokenised text with an `ain_tagger` model. It talks to the model's tagging
    head (`model.heads`, a `TaggingHead`) for everything beyond `forward`: the k best paths, the
    label encoding, readable labels. Nothing is written into the model.

    Input, one JSON object per line (other keys are ignored):

    - `{"sentence": "raw text"}`: split into tokens by a blank spaCy tokenizer for `language`
      (rules only, no model download); whitespace tokens are dropped.
    - `{"tokens": ["pre", "split"]}`: tagged as given.
    - optional `"top_k": k` (an integer ≥ 0): the k best label sequences for this line; overrides
      the predictor's `top_k`. Only decoders with exact k-best decoding (`crf`) offer it.
    - optional `"marginals": true`: every token's label distribution for this line; overrides the
      predictor's `marginals`.
    - optional `"language": "nl"`, for a multilingual model (see below; `null` is as absent); other
      models ignore it.

    A multilingual model (Lin et al., 2018) is one with `languages`: per-language word embeddings
    (the `ain_multilingual` embedder) or per-language gated projections in its heads. For such a
    model (`languages` lists what it knows) a line's language selects that language's word
    embeddings and gates: the line's instance is made as training made that language's instances,
    by a reader of that language (its `language` goes to `metadata["language"]`, its token
    indexers put the words under `tokens_<language>`). The reader of a language is the one among
    the predictor's readers with that `language`; a language without one (the archive's validation
    reader, which the predictor gets by default, is the target dataset's alone) gets a copy of the
    predictor's reader with that `language` and, for the `ain_multilingual` embedder, its word
    indexer moved to `tokens_<language>` with the namespace of that language's word embedding:
    what the shipped configs' readers of that language are. A line without `"language"` takes the
    predictor's `default_language`. Raw text is split by a blank spaCy tokenizer of the line's
    language (the predictor's `language` when spaCy has none for it). A model call holds one
    language (the model refuses a batch of several): a batch is split by language, each part runs
    on its own, and the outputs come back in the input's order, each the same as the line alone.

    Output, one JSON object per input:

    - `tokens`, `tags` and `confidence`: the marginal probability of each predicted tag under the
      model's decoder (exact for the CRF, the mean-field Qᴹ for AIN, the softmax for MaxEnt);
    - `spans` (only for models with a `label_encoding`, e.g. NER; POS models have none): a list of
      `{"label", "start", "end"}` token offsets, `end` exclusive, read like `conlleval` from the
      predicted tags; for raw text also `start_char`, `end_char` (exclusive) and `text`, so that
      `sentence[start_char:end_char] == text`;
    A model with several tagging heads (`ain_multitask_tagger`) gives, unless `task` names one,
    `tokens` and then one entry per task, `{"pos": {"tags", "confidence", ...}, "ner": {...}}`, in
    the input's order, from one model pass per batch.

    - `top_k` (when asked for): best first, `{"tags", "score"}` with the path's unnormalised score
      and, for the CRF, `log_probability`;
    - `marginals` (when asked for): per token, `{label: probability}` over every label of the
      model (exact for the CRF, Qᴹ for AIN, the softmax for MaxEnt), e.g. a teacher's soft targets.

    Bad input: `predict_json` and `predict_batch_json` raise a `ValueError` naming the problem and
    the input: neither or both of `sentence` / `tokens`, a sentence that is not a string or is
    empty or blank, a token that is not a non-blank string, a bad `top_k` or `marginals`, and for
    a multilingual model a `language` it does not know (the message lists those it knows) or a
    missing `language` without a `default_language`. A line read by `load_line` (as
    `allennlp predict` reads its input file) is checked there instead, and
    a bad line, malformed JSON and JSON that is not an object included, becomes the error object
    `{"error": "input N: <the problem and the line>", "input": N}`, which prediction passes through
    in the line's place: the output has one line per input line, in order, and the other lines'
    outputs are those they have alone. `N` counts the lines this predictor has read, from 1.
    `allennlp predict` drops blank (whitespace-only) lines before the predictor sees them, so they
    have no output line and no number: `N` is then the output's line number, and the input's line
    number only when the input has no blank lines. A blank line that does reach `load_line` gives
    the error object `{"error": "input N: blank line", "input": N}`.
    Batched prediction gives the same output as one sentence at a time, bad lines mixed in or not.

    Progress: from the first `load_line`, a progress bar on stderr (AllenNLP's `Tqdm`, so
    `--file-friendly-logging` applies) counts the output lines `dump_line` writes and the bad ones
    among them. Prediction from Python without `load_line` shows none.

    Registered as a `Predictor` with name "ain_tagger" (the `ain_tagger` model's default).

    # Parameters

    model : `Model`
    dataset_reader : `DatasetReader`
    language : `str`, optional (default = `"en"`)
        The spaCy language code of the tokenizer for raw text (for a multilingual model: of lines
        whose language spaCy has no tokenizer for).
    top_k : `int`, optional (default = `None`)
        The number of best label sequences to add to every output (0: none). `None` takes the
        model's configured `top_k` (0 unless the config set one).
    task : `str`, optional (default = `None`)
        Which of the model's heads tags; `None`: every head (one for a single-task model).
    marginals : `bool`, optional (default = `False`)
        Add every token's label distribution to every output.
    frozen : `bool`, optional (default = `True`)
        Put the model in evaluation mode (see `Predictor`).
    exported : `str`, optional (default = `None`)
        The folder `allennlp ain-export` wrote for this archive: tag with its ONNX graph
        (`allennlp_ain_onnx.ExportedTagger`, onnxruntime) instead of the PyTorch model, with the
        same output. The model still reads the input and names the labels; the folder's labels must
        be the model's. Only single-task models with a `maxent` or `mfvi` decoder export, so
        `top_k` is refused as for them.
    default_language : `str`, optional (default = `None`)
        For a multilingual model: the language of a line without `"language"`. `None` takes the
        language of the predictor's readers when they have one (the archive's validation reader is
        the target dataset's, so the target's language), else the model's language when it knows
        one; failing both, such a line is a bad line. Must be one of the model's `languages`.
        Ignored by other models.
    zero_shot : `Union[bool, str]`, optional (default = `False`)
        For a multilingual model: whether a line of a language the model does not know is tagged
        (zero-shot) rather than refused. Its heads then use their universal projections alone (no
        language's gate). A model with word embeddings per language (`ain_multilingual`) reads an
        unseen language's words with those of a language it knows: give that language here (e.g.
        `"es"` for Portuguese lines); `true` is enough for a model whose word embeddings all
        languages share. Ignored by other models.
    """

    def __init__(
        self,
        model: Model,
        dataset_reader: DatasetReader,
        language: str = "en",
        top_k: Optional[int] = None,
        task: Optional[str] = None,
        marginals: bool = False,
        frozen: bool = True,
        exported: Optional[str] = None,
        default_language: Optional[str] = None,
        zero_shot: Union[bool, str] = False,
    ) -> None:
        super().__init__(model, dataset_reader, frozen=frozen)
        heads = getattr(model, "heads", None)
        if not heads:
            raise ValueError(f"The ain_tagger predictor needs a model with tagging heads, got {type(model).__name__}")
        if task is not None and task not in heads:
            raise ValueError(f"No head {task!r} in this model; it has {sorted(heads)}")
        # the heads that tag: the named one, or all; several give one entry per task in the output
        self._heads = {task: heads[task]} if task is not None else dict(heads)
        self._nested = len(self._heads) > 1
        # a multi-task model's reader is AllenNLP's `multitask` reader: make instances with the
        # task's own reader (or the first task's, which every task's text field matches), without
        # the `task` field that AllenNLP's wrapper of it adds (every head runs)
        readers = getattr(dataset_reader, "readers", None)
        reader = readers[task if task in readers else next(iter(readers))] if readers else dataset_reader
        self._reader = getattr(reader, "inner", reader)
        self._tokenizer = spacy.blank(language).tokenizer
        self._tokenizers: Dict[str, Any] = {}  # a multilingual model's lines' tokenizers, by language
        embedder = getattr(model, "text_field_embedder", None)
        self._embedder = embedder if isinstance(embedder, MultilingualEmbedder) else None
        # the languages of a multilingual model, sorted; empty for another model
        self.languages: List[str] = sorted(
            set(getattr(model, "languages", None) or []) | set(self._embedder.languages if self._embedder else [])
        )
        # every reader the predictor has, its default one first: a known language's own reader
        own = [self._reader] + [getattr(r, "inner", r) for r in (readers or {}).values()]
        self._language_readers: Dict[str, DatasetReader] = {}
        for candidate in own:
            candidate_language = getattr(candidate, "language", None)
            if candidate_language in self.languages and candidate_language not in self._language_readers:
                self._language_readers[candidate_language] = candidate
        # the language of a multilingual model's lines without "language" (`None`: they are bad lines)
        self.default_language: Optional[str] = None
        if default_language is not None:
            if default_language not in self.languages:
                raise ValueError(
                    f"default_language {default_language!r} is not a language of this model; "
                    f"it knows {self.languages or 'none (it is not multilingual)'}"
                )
            self.default_language = default_language
        elif self.languages:
            reader_languages = {getattr(candidate, "language", None) for candidate in own}
            if len(reader_languages) == 1 and reader_languages <= set(self.languages):
                self.default_language = next(iter(reader_languages))
            elif len(self.languages) == 1:
                self.default_language = self.languages[0]
        self.zero_shot = self._check_zero_shot(zero_shot)
        if top_k is None:
            top_k = getattr(model, "default_top_k", 0)
        self._top_k = self._check_top_k(top_k, "the predictor argument top_k")
        self._marginals = self._check_marginals(marginals, "the predictor argument marginals")
        self._exported: Any = None
        if exported is not None:
            self._exported = self._load_exported(exported)
        self._lines_read = 0
        self._progress: Any = None  # started by the first `load_line`
        self._bad_lines_written = 0

    def load_line(self, line: str) -> JsonDict:
        self._lines_read += 1
        if self._progress is None:
            self._progress = Tqdm.tqdm(desc="ain_tagger", unit=" lines")
        try:
            if not line.strip():
                raise ValueError("blank line")
            try:
                inputs = json.loads(line)
            except json.JSONDecodeError as error:
                hint = ""
                if not line.lstrip().startswith(("{", "[")):
                    hint = '; each line is one JSON object, e.g. {"sentence": "John lives in Paris."}'
                raise ValueError(
                    f"Malformed JSON ({error.msg}, column {error.colno}) in input line {_show(line)}{hint}"
                ) from None
            if not isinstance(inputs, dict):
                raise ValueError(
                    f"Expected one JSON object per line, got {type(inputs).__name__} in input line {_show(line)}"
                )
            return _Line(inputs, self._request(inputs))
        except ValueError as error:
            return _Line({"error": f"input {self._lines_read}: {error}", "input": self._lines_read}, None)

    def dump_line(self, outputs: JsonDict) -> str:
        if self._progress is not None:
            if isinstance(outputs, _Line):
                self._bad_lines_written += 1
                self._progress.set_postfix_str(f"{self._bad_lines_written} bad", refresh=False)
            self._progress.update(1)
        return super().dump_line(outputs)

    def _json_to_instance(self, json_dict: JsonDict) -> Instance:
        return self._request(json_dict).instance

    def predict_json(self, inputs: JsonDict) -> JsonDict:
        return self.predict_batch_json([inputs])[0]

    def predict_batch_json(self, inputs: List[JsonDict]) -> List[JsonDict]:
        """The outputs of `inputs`, from one model call; a bad line's error object stays as it is."""
        requests = [
            json_dict.request if isinstance(json_dict, _Line) else self._request(json_dict) for json_dict in inputs
        ]
        valid = [r for r in requests if r is not None]
        outputs = iter(self._run([r.instance for r in valid], max(r.top_k for r in valid)) if valid else [])
        return [
            self._format(next(outputs), r.text, r.offsets, r.top_k, r.marginals) if r is not None else json_dict
            for r, json_dict in zip(requests, inputs)
        ]

    def predict_instance(self, instance: Instance) -> JsonDict:
        return self.predict_batch_instance([instance])[0]

    def predict_batch_instance(self, instances: List[Instance]) -> List[JsonDict]:
        outputs = self._run(instances, self._top_k)
        return [self._format(output, None, None, self._top_k, self._marginals) for output in outputs]

    def _request(self, json_dict: JsonDict) -> _Request:
        if not isinstance(json_dict, dict):
            raise ValueError(f"Expected a JSON object, got {type(json_dict).__name__}: {_show(json_dict)}")
        if ("sentence" in json_dict) == ("tokens" in json_dict):
            raise ValueError(
                'Expected exactly one of {"sentence": "raw text"} or {"tokens": [...]}, '
                f"got keys {sorted(json_dict)} in {_show(json_dict)}"
            )
        top_k = self._top_k
        if "top_k" in json_dict:
            top_k = self._check_top_k(json_dict["top_k"], f"top_k in {_show(json_dict)}")
        marginals = self._marginals
        if "marginals" in json_dict:
            marginals = self._check_marginals(json_dict["marginals"], f"marginals in {_show(json_dict)}")
        language = self._line_language(json_dict)
        reader = self._language_reader(language, json_dict) if language is not None else self._reader
        text: Optional[str] = None
        offsets: Optional[List[Tuple[int, int]]] = None
        if "sentence" in json_dict:
            text = json_dict["sentence"]
            if not isinstance(text, str):
                raise ValueError(f'"sentence" must be a string, got {type(text).__name__} in {_show(json_dict)}')
            words = [t for t in self._language_tokenizer(language)(text) if not t.is_space]
            tokens = [t.text for t in words]
            offsets = [(t.idx, t.idx + len(t.text)) for t in words]
            if not tokens:
                raise ValueError(f"Nothing to tag: the sentence is empty or blank in {_show(json_dict)}")
        else:
            tokens = json_dict["tokens"]
            if not isinstance(tokens, list):
                raise ValueError(
                    f'"tokens" must be a list of strings, got {type(tokens).__name__} in {_show(json_dict)}'
                )
            if not tokens:
                raise ValueError(f"Nothing to tag: the token list is empty in {_show(json_dict)}")
            for position, token in enumerate(tokens):
                if not isinstance(token, str) or not token.strip():
                    raise ValueError(
                        f"Token {position} must be a non-blank string, got {token!r} in {_show(json_dict)}"
                    )
        return _Request(reader.text_to_instance(tokens), text, offsets, top_k, marginals)

    def _line_language(self, json_dict: JsonDict) -> Optional[str]:
        """The language of a multilingual model's line, checked (`None` for another model, which ignores it)."""
        if not self.languages:
            return None
        if json_dict.get("language") is None:  # absent or null
            if self.default_language is None:
                raise ValueError(
                    f'No "language" in {_show(json_dict)}, and this model knows several languages {self.languages} '
                    'with no default_language: add "language": one of them'
                )
            return self.default_language
        language = json_dict["language"]
        if language in self.languages:
            return language
        if self.zero_shot and isinstance(language, str) and language.strip():
            return language
        raise self._unknown_language(language, f"in {_show(json_dict)}")

    def _unknown_language(self, language: Any, where: str) -> ValueError:
        """The error for a `language` this model does not know (and zero-shot does not take)."""
        hint = "" if self.zero_shot else " (the predictor's zero_shot tags other languages too)"
        return ValueError(f"Unknown language {language!r} {where}: this model knows {self.languages}{hint}")

    def _check_zero_shot(self, zero_shot: Any) -> Union[bool, str]:
        """`zero_shot` checked against the model (see the class docstring)."""
        if not isinstance(zero_shot, (bool, str)):
            raise ValueError(f"zero_shot must be true, false or a language, got {zero_shot!r}")
        if not self.languages or zero_shot is False:
            return False
        word_languages = sorted(self._embedder.words) if self._embedder is not None else None
        if zero_shot is True and word_languages is not None:
            raise ValueError(
                f"zero_shot: this model has word embeddings per language {word_languages}; name the one whose "
                "word embeddings read the words of a language it does not know"
            )
        if isinstance(zero_shot, str) and zero_shot not in (word_languages or self.languages):
            raise ValueError(
                f"zero_shot {zero_shot!r} is not a language of this model's word embeddings; "
                f"it knows {word_languages or self.languages}"
            )
        return zero_shot

    def _language_reader(self, language: str, json_dict: Optional[JsonDict] = None) -> DatasetReader:
        """
        The reader of a known `language`'s instances: one of the predictor's, or one derived from the
        predictor's reader (made once), as the class docstring says; `ValueError` when it cannot be.
        """
        reader = self._language_readers.get(language)
        if reader is not None:
            return reader
        if language not in self.languages:  # zero-shot: another language's words, no gate
            base = self._language_reader(self.zero_shot) if isinstance(self.zero_shot, str) else self._reader
            reader = copy.copy(base)
            reader.language = language
            self._language_readers[language] = reader
            return reader
        template = self._reader
        where = f" in {_show(json_dict)}" if json_dict is not None else ""
        if not isinstance(template, TaggingDatasetReader):
            raise ValueError(
                f"No reader for the language {language!r}{where}: the predictor's {type(template).__name__} "
                "is not one of this project's readers, so none can be made for it; use the training readers "
                "(--dataset-reader-choice train)"
            )
        indexers = dict(template._token_indexers)
        if self._embedder is not None:
            word_keys = [key for key in indexers if key in {self._embedder.word_key(x) for x in self.languages}]
            if language not in self._embedder.words:
                raise ValueError(
                    f"No reader for the language {language!r}{where}: the model has no word embeddings for it "
                    f"(it has them for {sorted(self._embedder.words)})"
                )
            namespace = self._embedder.word_namespace(language)
            word_indexer = copy.deepcopy(indexers[word_keys[0]]) if len(word_keys) == 1 else None
            if word_indexer is None or namespace is None or not hasattr(word_indexer, "namespace"):
                raise ValueError(
                    f"No reader for the language {language!r}{where}: the predictor's reader indexes "
                    f"{sorted(indexers)}, from which the indexer of {self._embedder.word_key(language)!r} "
                    "cannot be made; use the training readers (--dataset-reader-choice train)"
                )
            word_indexer.namespace = namespace
            source, target = word_keys[0], self._embedder.word_key(language)
            # the word indexer in its place, under the language's key; the shared ones as they are
            indexers = {
                (target if key == source else key): (word_indexer if key == source else indexer)
                for key, indexer in indexers.items()
            }
        reader = copy.copy(template)
        reader.language = language
        reader._token_indexers = indexers
        self._language_readers[language] = reader
        return reader

    def _language_tokenizer(self, language: Optional[str]) -> Any:
        """The tokenizer of raw text in `language`: spaCy's blank one for it, else the predictor's."""
        if language is None:
            return self._tokenizer
        if language not in self._tokenizers:
            try:
                self._tokenizers[language] = spacy.blank(language).tokenizer
            except ImportError:  # spaCy has no such language
                self._tokenizers[language] = self._tokenizer
        return self._tokenizers[language]

    @staticmethod
    def _check_marginals(marginals: Any, where: str) -> bool:
        if not isinstance(marginals, bool):
            raise ValueError(f"{where} must be true or false, got {marginals!r}")
        return marginals

    def _check_top_k(self, top_k: Any, where: str) -> int:
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0:
            raise ValueError(f"{where} must be an integer >= 0, got {top_k!r}")
        for head in self._heads.values():
            if top_k > 0 and not head.has_topk:
                raise ValueError(
                    f"{where}: this model's {type(head.decoder).__name__} decoder has no k-best decoding; "
                    "only exact decoders (the 'crf' decoder) offer top_k"
                )
        return top_k

    def _load_exported(self, path: str) -> Any:
        from allennlp_ain_onnx import ExportedTagger

        if len(self._heads) != 1:
            raise ValueError(f"an exported tagger has one head; this model has {sorted(self._heads)}: name one with task")
        tagger = ExportedTagger(path)
        head = next(iter(self._heads.values()))
        if tagger.labels != head.labels or tagger.label_encoding != head.label_encoding:
            raise ValueError(f"the exported tagger in {path} has other labels than this model; export this archive")
        return tagger

    def _run(self, instances: List[Instance], top_k: int) -> List[Dict[str, Any]]:
        """
        The model's output for `instances`, with `top_k` for this call: per instance, `words` and
        per task `tags`, `confidence`, `marginals` (a tensor, or an array from the exported graph)
        and `top_k` when asked for. For a multilingual model one model call per language (its
        instances' `metadata["language"]`), with that language's reader's token indexers; the
        results in the instances' order.
        """
        if self._exported is not None:
            return self._run_exported(instances)
        if not self.languages:
            return self._run_batch(instances, self._reader, top_k)
        groups: Dict[Optional[str], List[int]] = {}
        for position, instance in enumerate(instances):
            groups.setdefault(_instance_language(instance), []).append(position)
        results: List[Dict[str, Any]] = [{} for _ in instances]
        for language, positions in groups.items():
            if language is not None and language not in self.languages and not self.zero_shot:
                raise self._unknown_language(language, "of an instance")
            reader = self._language_reader(language) if language is not None else self._reader
            for position, result in zip(positions, self._run_batch([instances[p] for p in positions], reader, top_k)):
                results[position] = result
        return results

    def _run_batch(self, instances: List[Instance], reader: DatasetReader, top_k: int) -> List[Dict[str, Any]]:
        """`_run` on one model call, the instances indexed by `reader`'s token indexers."""
        for instance in instances:
            reader.apply_token_indexers(instance)
        batch = Batch(instances)
        batch.index_instances(self._model.vocab)
        tensors = util.move_to_device(batch.as_tensor_dict(), self._model._get_prediction_device())
        with torch.no_grad():
            outputs = self._model(**tensors, top_k=top_k)
        results: List[Dict[str, Any]] = [{"words": words} for words in outputs["words"]]
        keys = ["tags", "confidence"] + (["top_k"] if top_k > 0 else [])
        for task, head in self._heads.items():
            own = self._model.task_outputs(outputs, task)  # type: ignore[attr-defined]
            marginals = own["marginals"]
            readable = head.make_output_human_readable(dict(own))
            for i, result in enumerate(results):
                result[task] = {key: readable[key][i] for key in keys}
                result[task]["marginals"] = marginals[i, : len(readable["tags"][i])]
        return results

    def _run_exported(self, instances: List[Instance]) -> List[Dict[str, Any]]:
        """`_run` on the exported ONNX graph: the same entries, without `top_k` (no exported decoder has it)."""
        sentences = [[token.text for token in instance["tokens"].tokens] for instance in instances]
        tags, confidence, marginals = self._exported.run(sentences)
        task = next(iter(self._heads))
        labels = self._exported.labels
        results: List[Dict[str, Any]] = []
        for row, (instance, words) in enumerate(zip(instances, sentences)):
            n = len(words)
            output = {
                "tags": [labels[i] for i in tags[row, :n].tolist()],
                "confidence": confidence[row, :n].tolist(),
                "marginals": marginals[row, :n],
            }
            results.append({"words": instance["metadata"]["words"], task: output})
        return results

    def _format(
        self,
        output: Dict[str, Any],
        text: Optional[str],
        offsets: Optional[List[Tuple[int, int]]],
        top_k: int,
        marginals: bool = False,
    ) -> JsonDict:
        result: Dict[str, Any] = {"tokens": output["words"]}
        for task, head in self._heads.items():
            formatted = self._format_task(head, output[task], text, offsets, top_k, marginals)
            if self._nested:
                result[task] = formatted
            else:
                result.update(formatted)
        return sanitize(result)

    @staticmethod
    def _format_task(
        head: Any,
        output: Dict[str, Any],
        text: Optional[str],
        offsets: Optional[List[Tuple[int, int]]],
        top_k: int,
        marginals: bool,
    ) -> Dict[str, Any]:
        result: Dict[str, Any] = {"tags": output["tags"], "confidence": output["confidence"]}
        if head.label_encoding is not None:
            spans = []
            for label, start, end in extract_spans(output["tags"], head.label_encoding):
                span: Dict[str, Any] = {"label": label, "start": start, "end": end}
                if text is not None and offsets is not None:
                    span["start_char"], span["end_char"] = offsets[start][0], offsets[end - 1][1]
                    span["text"] = text[span["start_char"] : span["end_char"]]
                spans.append(span)
            result["spans"] = spans
        if top_k > 0:
            result["top_k"] = output["top_k"][:top_k]
        if marginals:
            labels = head.labels
            result["marginals"] = [dict(zip(labels, row)) for row in output["marginals"].tolist()]
        return result


def _instance_language(instance: Instance) -> Optional[str]:
    """An instance's `metadata["language"]` (`None` when unset)."""
    metadata = instance.fields.get("metadata")
    return metadata.metadata.get("language") if metadata is not None else None  # type: ignore[attr-defined]


def _show(value: Any, limit: int = 200) -> str:
    """A short, printable rendering of an input for error messages."""
    text = value.strip() if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return repr(text if len(text) <= limit else text[:limit] + "...")
