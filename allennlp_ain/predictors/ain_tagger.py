from typing import List

import spacy
from allennlp.common.util import JsonDict, sanitize
from allennlp.data import DatasetReader, Instance
from allennlp.models import Model
from allennlp.predictors import Predictor


@Predictor.register("ain_tagger")
class AinTaggerPredictor(Predictor):
    """
    Tags raw or pre-tokenised text with an `ain_tagger` model.

    Input, one JSON object per line: `{"sentence": "raw text"}` (split into tokens by a blank
    spaCy tokenizer for `language`: no model download needed) or `{"tokens": ["pre", "split"]}`.
    Output: `tokens`, `tags` and per-token `confidence`.

    Registered as a `Predictor` with name "ain_tagger" (the `ain_tagger` model's default).

    # Parameters

    model : `Model`
    dataset_reader : `DatasetReader`
    language : `str`, optional (default = `"en"`)
        The spaCy language code of the tokenizer for raw text.
    """

    def __init__(self, model: Model, dataset_reader: DatasetReader, language: str = "en") -> None:
        super().__init__(model, dataset_reader)
        self._tokenizer = spacy.blank(language).tokenizer

    def _json_to_instance(self, json_dict: JsonDict) -> Instance:
        if "tokens" in json_dict:
            tokens = [str(t) for t in json_dict["tokens"]]
        elif "sentence" in json_dict:
            tokens = [t.text for t in self._tokenizer(json_dict["sentence"]) if not t.is_space]
        else:
            raise ValueError(f'Expected {{"sentence": "..."}} or {{"tokens": [...]}}, got keys {sorted(json_dict)}')
        if not tokens:
            raise ValueError(f"Nothing to tag in {json_dict}")
        return self._dataset_reader.text_to_instance(tokens)

    def predict_instance(self, instance: Instance) -> JsonDict:
        return self._format(self._model.forward_on_instance(instance))

    def predict_batch_instance(self, instances: List[Instance]) -> List[JsonDict]:
        return [self._format(output) for output in self._model.forward_on_instances(instances)]

    @staticmethod
    def _format(output: JsonDict) -> JsonDict:
        return sanitize({"tokens": output["words"], "tags": output["tags"], "confidence": output["confidence"]})
