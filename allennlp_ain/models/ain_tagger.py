from typing import Any, Dict, List, Optional

import torch
from allennlp.common import Lazy
from allennlp.common.checks import ConfigurationError, check_dimensions_match
from allennlp.data import TextFieldTensors, Vocabulary
from allennlp.models import Model
from allennlp.modules import FeedForward, InputVariationalDropout, Seq2SeqEncoder, TextFieldEmbedder, TimeDistributed
from allennlp.nn import InitializerApplicator, util
from allennlp.training.metrics import CategoricalAccuracy

from allennlp_ain.modules.decoders import LinearChainCrf, SequenceDecoder
from allennlp_ain.modules.decoders.constraints import ENCODINGS, label_constraints
from allennlp_ain.modules.word_dropout import WordDropout
from allennlp_ain.training.metrics import SpanF1


@Model.register("ain_tagger")
class AinTagger(Model):
    """
    A sequence labeller: text field embedder → seq2seq encoder → (feedforward) → linear layer to
    label scores → decoder. The decoder (`"decoder": {"type": "crf" | "maxent" | ...}`) defines
    the loss, the decoding and the per-token marginals.

    Metrics: token `accuracy` always; for span-encoded labels (`label_encoding` one of BIO, IOB1,
    BIOES/BIOUL) also span `precision-overall`, `recall-overall`, `f1-measure-overall` and their
    per-type versions, computed like `conlleval` (`SpanF1`).

    `forward` returns `logits`, `mask`, `tags` (decoded label ids), `loss` when gold `tags` are
    given, and in evaluation mode `marginals` (per-token label probabilities, exact for the CRF)
    and `confidence` (the marginal of each predicted label). In evaluation mode with `top_k > 0`
    it also returns the decoder's k best label sequences: `top_k_tags` `(batch, k, seq)`,
    `top_k_scores` `(batch, k)` and, when the decoder has a partition function (CRF),
    `top_k_log_probs` `(batch, k)`; a decoder without `topk` raises `NotImplementedError`.

    Registered as a `Model` with name "ain_tagger".

    # Parameters

    vocab : `Vocabulary`
    text_field_embedder : `TextFieldEmbedder`
    encoder : `Seq2SeqEncoder`
    decoder : `Lazy[SequenceDecoder]`, optional (default = `"crf"`)
        Built with `num_labels` (and `constraints`) supplied by the model.
    label_namespace : `str`, optional (default = `"labels"`)
    label_encoding : `str`, optional (default = `None`)
        The labels' span encoding, for span F1 and constraints. `None` for plain tags (POS).
    constrain_decoding : `bool`, optional (default = `False`)
        Restrict the decoder to label sequences that are valid under `label_encoding`.
    feedforward : `FeedForward`, optional (default = `None`)
        Applied between the encoder and the output layer.
    dropout : `float`, optional (default = `0.0`)
        Dropout on the embeddings and on the encoder output.
    variational_dropout : `bool`, optional (default = `False`)
        Sample that dropout's mask once per sentence and share it across time steps ("locked"
        dropout, AllenNLP's `InputVariationalDropout`), as Akbik et al. (2018) do, instead of
        independently for every token.
    word_dropout : `float`, optional (default = `0.0`)
        Probability of zeroing a token's whole embedding vector in training (`WordDropout`);
        Akbik et al. (2018) use 0.05.
    initializer : `InitializerApplicator`, optional (default = `InitializerApplicator()`)
    top_k : `int`, optional (default = `0`)
        How many best label sequences to return in evaluation mode (0: none). A plain attribute
        that a predictor may change between calls.
    """

    def __init__(
        self,
        vocab: Vocabulary,
        text_field_embedder: TextFieldEmbedder,
        encoder: Seq2SeqEncoder,
        decoder: Optional[Lazy[SequenceDecoder]] = None,
        label_namespace: str = "labels",
        label_encoding: Optional[str] = None,
        constrain_decoding: bool = False,
        feedforward: Optional[FeedForward] = None,
        dropout: float = 0.0,
        variational_dropout: bool = False,
        word_dropout: float = 0.0,
        initializer: InitializerApplicator = InitializerApplicator(),
        top_k: int = 0,
        **kwargs,
    ) -> None:
        super().__init__(vocab, **kwargs)
        if top_k < 0:
            raise ConfigurationError(f"top_k must be 0 or positive, got {top_k}")
        self.top_k = top_k
        self.label_namespace = label_namespace
        self.num_labels = vocab.get_vocab_size(label_namespace)
        if label_encoding is not None and label_encoding.upper() not in ENCODINGS:
            raise ConfigurationError(f"label_encoding must be one of {ENCODINGS} or null, got {label_encoding!r}")
        if constrain_decoding and label_encoding is None:
            raise ConfigurationError("constrain_decoding needs a label_encoding")
        self.label_encoding = label_encoding
        self.text_field_embedder = text_field_embedder
        self.encoder = encoder
        check_dimensions_match(
            text_field_embedder.get_output_dim(), encoder.get_input_dim(), "embedding dim", "encoder input dim"
        )
        self.feedforward = feedforward
        if feedforward is not None:
            check_dimensions_match(
                encoder.get_output_dim(), feedforward.get_input_dim(), "encoder output dim", "feedforward input dim"
            )
        output_dim = feedforward.get_output_dim() if feedforward is not None else encoder.get_output_dim()
        if not 0.0 <= dropout < 1.0:
            raise ConfigurationError(f"dropout must be in [0, 1), got {dropout}")
        if not 0.0 <= word_dropout < 1.0:
            raise ConfigurationError(f"word_dropout must be in [0, 1), got {word_dropout}")
        self.dropout = InputVariationalDropout(dropout) if variational_dropout else torch.nn.Dropout(dropout)
        self.word_dropout = WordDropout(word_dropout)
        self.tag_projection_layer = TimeDistributed(torch.nn.Linear(output_dim, self.num_labels))

        labels = vocab.get_index_to_token_vocabulary(label_namespace)
        constraints = label_constraints(label_encoding, labels) if constrain_decoding else None
        decoder = decoder or Lazy(LinearChainCrf)
        self.decoder = decoder.construct(num_labels=self.num_labels, constraints=constraints)

        self.metrics: Dict[str, Any] = {"accuracy": CategoricalAccuracy()}
        self._span_f1 = SpanF1(labels) if label_encoding is not None else None
        initializer(self)

    def forward(  # type: ignore
        self,
        tokens: TextFieldTensors,
        tags: Optional[torch.LongTensor] = None,
        metadata: Optional[List[Dict[str, Any]]] = None,
        **kwargs,
    ) -> Dict[str, torch.Tensor]:
        mask = util.get_text_field_mask(tokens)
        embedded = self.word_dropout(self.text_field_embedder(tokens))
        encoded = self.encoder(self.dropout(embedded), mask)
        encoded = self.dropout(encoded)
        if self.feedforward is not None:
            encoded = self.feedforward(encoded)
        logits = self.tag_projection_layer(encoded)

        predicted = self.decoder.decode(logits, mask)
        output: Dict[str, Any] = {"logits": logits, "mask": mask, "tags": predicted}
        if not self.training:
            marginals = self.decoder.marginals(logits, mask)
            output["marginals"] = marginals
            output["confidence"] = marginals.gather(2, predicted.unsqueeze(2)).squeeze(2).clamp(0.0, 1.0)
            if self.top_k > 0:
                top_tags, top_scores = self.decoder.topk(logits, mask, self.top_k)
                output["top_k_tags"] = top_tags
                output["top_k_scores"] = top_scores
                try:
                    log_z = self.decoder.log_partition(logits, mask)
                except NotImplementedError:
                    pass
                else:
                    output["top_k_log_probs"] = top_scores - log_z.unsqueeze(1)
        if tags is not None:
            output["loss"] = self.decoder.loss(logits, tags, mask)
            one_hot = torch.nn.functional.one_hot(predicted, self.num_labels).float()
            self.metrics["accuracy"](one_hot, tags, mask)
            if self._span_f1 is not None:
                self._span_f1(predicted, tags, mask)
        if metadata is not None:
            output["words"] = [x["words"] for x in metadata]
        return output

    def make_output_human_readable(self, output_dict: Dict[str, Any]) -> Dict[str, Any]:
        """
        Turn label ids into label strings: `tags` becomes one list of labels per sentence, cut to
        its length, and `confidence` (when present) one list of floats per sentence. The k-best
        tensors (when present) become `top_k`: per sentence a list, best first, of
        `{"tags": [...], "score": float}` (plus `"log_probability"` when the decoder has a
        partition function), leaving out ranks beyond the number of distinct sequences.
        """
        lengths = output_dict["mask"].sum(-1).tolist()
        tags = output_dict["tags"].tolist()
        output_dict["tags"] = [self._to_labels(row[:n]) for row, n in zip(tags, lengths)]
        if "confidence" in output_dict:
            confidence = output_dict["confidence"].tolist()
            output_dict["confidence"] = [row[:n] for row, n in zip(confidence, lengths)]
        if "top_k_tags" in output_dict:
            top_tags = output_dict.pop("top_k_tags").tolist()
            top_scores = output_dict.pop("top_k_scores").tolist()
            log_probs = output_dict.pop("top_k_log_probs", None)
            log_probs = log_probs.tolist() if log_probs is not None else [None] * len(top_tags)
            output_dict["top_k"] = []
            for paths, scores, sentence_log_probs, n in zip(top_tags, top_scores, log_probs, lengths):
                best = []
                for rank, (path, score) in enumerate(zip(paths, scores)):
                    if score == float("-inf"):  # fewer distinct sequences than k
                        continue
                    entry = {"tags": self._to_labels(path[:n]), "score": score}
                    if sentence_log_probs is not None:
                        entry["log_probability"] = sentence_log_probs[rank]
                    best.append(entry)
                output_dict["top_k"].append(best)
        return output_dict

    def _to_labels(self, ids: List[int]) -> List[str]:
        return [self.vocab.get_token_from_index(i, namespace=self.label_namespace) for i in ids]

    def get_metrics(self, reset: bool = False) -> Dict[str, float]:
        metrics = {name: metric.get_metric(reset) for name, metric in self.metrics.items()}
        if self._span_f1 is not None:
            metrics.update(self._span_f1.get_metric(reset))
        return metrics

    default_predictor = "ain_tagger"
