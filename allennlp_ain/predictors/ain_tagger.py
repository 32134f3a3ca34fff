import json
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

import spacy
import torch
from allennlp.common.tqdm import Tqdm
from allennlp.common.util import JsonDict, sanitize
from allennlp.data import Batch, DatasetReader, Instance
from allennlp.models import Model
from allennlp.nn import util
from allennlp.predictors import Predictor

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
    empty or blank, a token that is not a non-blank string, a bad `top_k` or `marginals`. A line
    read by `load_line` (as `allennlp predict` reads its input file) is checked there instead, and
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
        The spaCy language code of the tokenizer for raw text.
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
                raise ValueError(
                    f"Malformed JSON ({error.msg}, column {error.colno}) in input line {_show(line)}"
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
        text: Optional[str] = None
        offsets: Optional[List[Tuple[int, int]]] = None
        if "sentence" in json_dict:
            text = json_dict["sentence"]
            if not isinstance(text, str):
                raise ValueError(f'"sentence" must be a string, got {type(text).__name__} in {_show(json_dict)}')
            words = [t for t in self._tokenizer(text) if not t.is_space]
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
        return _Request(self._reader.text_to_instance(tokens), text, offsets, top_k, marginals)

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
        The model's forward on one batch, with `top_k` for this call, then each head's readable
        output: per instance, `words` and per task `tags`, `confidence`, `marginals` (a tensor,
        or an array from the exported graph) and `top_k` when asked for.
        """
        if self._exported is not None:
            return self._run_exported(instances)
        for instance in instances:
            self._reader.apply_token_indexers(instance)
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


def _show(value: Any, limit: int = 200) -> str:
    """A short, printable rendering of an input for error messages."""
    text = value.strip() if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return repr(text if len(text) <= limit else text[:limit] + "...")
