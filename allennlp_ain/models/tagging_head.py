from typing import Any, Dict, List, Optional

import torch
from allennlp.common import Lazy
from allennlp.common.checks import ConfigurationError, check_dimensions_match
from allennlp.data import Vocabulary
from allennlp.models.heads import Head
from allennlp.modules import FeedForward
from allennlp.training.metrics import Average, CategoricalAccuracy, Metric

from allennlp_ain import tag_schemes
from allennlp_ain.modules.decoders import Inference, SequenceDecoder
from allennlp_ain.modules.distillation import Distillation, TeacherSignals
from allennlp_ain.training.metrics import SpanF1


@Head.register("ain_tagging_head")
class TaggingHead(Head):
    """
    Everything that makes label sequences out of encoded tokens, for one task: (feedforward) →
    projection to label scores (optionally mixed with a per-language projection) → decoder, plus
    the label namespace and encoding, the constraints, the metrics, the k best paths and the
    readable output. Inputs are tensors only, so a single-task tagger, a multi-task model or
    AllenNLP's `MultiTaskModel` can all feed it.

    `forward(encoded, mask, tags=None, language=None, top_k=0)` returns `logits` `(batch, seq, L)`,
    `mask`, `tags` (decoded label ids), `loss` when gold `tags` are given, and in evaluation mode
    `marginals` (per-token label probabilities, exact where the decoder's `exact_marginals`),
    `confidence` (the marginal of each predicted label) and, with `top_k > 0`, the decoder's `k`
    best label sequences: `top_k_tags` `(batch, k, seq)`, `top_k_scores` `(batch, k)` and, when the
    decoder has a partition function, `top_k_log_probs`. A decoder without k-best paths raises
    `ValueError` (`has_topk` tells beforehand). The decoder's inference runs once per batch for all
    of them (`SequenceDecoder.infer`). `top_k(logits, mask, k)` gives the same paths for logits
    already computed. `make_output_human_readable` turns ids into label strings.

    Metrics: token `accuracy` always; for span-encoded labels (`label_encoding` set) also span
    `precision-overall`, `recall-overall`, `f1-measure-overall` and, at the end of an epoch, their
    per-type versions, computed like `conlleval` (`SpanF1`).

    At construction the label vocabulary is checked against `label_encoding`: a label that the
    encoding does not allow (a reader converting to BIO while the model is told BIOES) is a
    `ConfigurationError` naming the labels.

    Knowledge distillation (`distillation`, see `allennlp_ain.modules.distillation`): `forward`
    also takes a teacher's outputs for the batch as tensors, `teacher_logits`,
    `teacher_log_marginals` `(batch, seq, L)`, `teacher_topk_tags` `(batch, K, seq)` and
    `teacher_topk_scores` `(batch, K)`, in this head's label order (batch fields of the same names
    feed them through the models). Where gold `tags` and teacher signals are both given, the loss
    is `λ · KD + (1 − λ) · gold NLL` (`λ` = `distillation.interpolation`, which a trainer callback
    may anneal by setting it); a batch without teacher signals (validation, a dataset without a
    teacher) gets the gold loss alone. The KD term is in `output["distillation_loss"]` and averaged
    in the `distillation_loss` metric. A decoder that cannot be a student of the configured loss
    is a `ConfigurationError` at construction; teacher signals given to a head without
    `distillation` are a `ValueError`.

    Per-language projections (Lin et al., 2018): with `languages`, each listed language has its own
    linear layer and a gate `g = σ(W_g h + b)` with one value per label, and the label scores are
    `g ⊙ specific + (1 − g) ⊙ universal`. A language not in the list (zero-shot), or none, uses the
    universal projection alone.

    Registered as a `Head` with name "ain_tagging_head".

    # Parameters

    vocab : `Vocabulary`
    input_dim : `int`
        The width of the encoded tokens.
    decoder : `Lazy[SequenceDecoder]`, optional (default = the decoder family's default, `"crf"`)
        Built with `num_labels` (and `constraints`) supplied by the head.
    label_namespace : `str`, optional (default = `"labels"`)
    label_encoding : `str`, optional (default = `None`)
        The labels' span encoding (`BIO` = `IOB2`, `IOB1`, `BIOES` = `BIOUL`, `BMES`; see
        `allennlp_ain.tag_schemes`), for span F1 and constraints. `None` for plain tags (POS).
    constrain_decoding : `bool`, optional (default = `None`)
        Restrict the decoder's output to label sequences that are valid under `label_encoding`
        (start, every transition, end). `None` means: when there is a `label_encoding` (as in
        AllenNLP's `crf_tagger`). The decoder gets the scheme's allowed transitions and the label
        set's span structure (`tag_schemes.span_labels`): the `crf` decoder then scores only valid
        sequences, in training as in prediction; `maxent` and `mfvi` keep their distribution and
        repair their argmax in parallel (their `valid_decoding`).
    feedforward : `FeedForward`, optional (default = `None`)
        Applied to the encoded tokens before the projection.
    languages : `List[str]`, optional (default = `None`)
        Languages that get their own gated projection besides the universal one.
    distillation : `Distillation`, optional (default = `None`)
        The distillation loss and its `interpolation` (λ), `temperature` and `k`, e.g.
        `{"loss": "posterior", "temperature": 2.25}`; see `allennlp_ain.modules.distillation`.
    """

    def __init__(
        self,
        vocab: Vocabulary,
        input_dim: int,
        decoder: Optional[Lazy[SequenceDecoder]] = None,
        label_namespace: str = "labels",
        label_encoding: Optional[str] = None,
        constrain_decoding: Optional[bool] = None,
        feedforward: Optional[FeedForward] = None,
        languages: Optional[List[str]] = None,
        distillation: Optional[Distillation] = None,
    ) -> None:
        super().__init__(vocab)
        self.label_namespace = label_namespace
        self.num_labels = vocab.get_vocab_size(label_namespace)
        labels = vocab.get_index_to_token_vocabulary(label_namespace)
        if label_encoding is not None:
            try:
                label_encoding = tag_schemes.check_scheme(label_encoding)
                tag_schemes.check_label_vocabulary(labels.values(), label_encoding)
            except ValueError as error:
                raise ConfigurationError(f"label_encoding of namespace {label_namespace!r}: {error}") from None
        if constrain_decoding and label_encoding is None:
            raise ConfigurationError("constrain_decoding needs a label_encoding")
        if constrain_decoding is None:
            constrain_decoding = label_encoding is not None
        self.label_encoding = label_encoding
        self.feedforward = feedforward
        if feedforward is not None:
            check_dimensions_match(input_dim, feedforward.get_input_dim(), "encoder output dim", "feedforward input dim")
            input_dim = feedforward.get_output_dim()
        self.projection = torch.nn.Linear(input_dim, self.num_labels)
        self.languages = list(languages or [])
        if self.languages:
            self.language_projections = torch.nn.ModuleDict(
                {language: torch.nn.Linear(input_dim, self.num_labels) for language in self.languages}
            )
            self.language_gates = torch.nn.ModuleDict(
                {language: torch.nn.Linear(input_dim, self.num_labels) for language in self.languages}
            )
        constraints, span_labels = None, None
        if constrain_decoding:
            constraints = tag_schemes.allowed_transitions(label_encoding, labels)
            span_labels = tag_schemes.span_labels(label_encoding, labels)
        # decoders that take no span_labels (the exact `crf`) are built without them
        self.decoder = (decoder or Lazy(SequenceDecoder)).construct(
            num_labels=self.num_labels, constraints=constraints, span_labels=span_labels
        )
        self.metrics: Dict[str, Metric] = {"accuracy": CategoricalAccuracy()}
        if label_encoding is not None:
            self.metrics["span_f1"] = SpanF1(labels)
        self.distillation = distillation
        if distillation is not None:
            distillation.check(self.decoder)
            self.metrics["distillation_loss"] = Average()  # the KD term, averaged over its batches

    @property
    def labels(self) -> List[str]:
        """The label strings, by id."""
        return [self.vocab.get_token_from_index(i, namespace=self.label_namespace) for i in range(self.num_labels)]

    @property
    def has_topk(self) -> bool:
        """Whether `top_k` is defined (the decoder has k-best paths)."""
        return self.decoder.has_topk

    def forward(  # type: ignore
        self,
        encoded: torch.Tensor,
        mask: torch.BoolTensor,
        tags: Optional[torch.LongTensor] = None,
        language: Optional[str] = None,
        top_k: int = 0,
        teacher_logits: Optional[torch.Tensor] = None,
        teacher_log_marginals: Optional[torch.Tensor] = None,
        teacher_topk_tags: Optional[torch.LongTensor] = None,
        teacher_topk_scores: Optional[torch.Tensor] = None,
    ) -> Dict[str, torch.Tensor]:
        if self.feedforward is not None:
            encoded = self.feedforward(encoded)
        logits = self.projection(encoded)
        if language is not None and language in self.languages:
            gate = torch.sigmoid(self.language_gates[language](encoded))
            logits = gate * self.language_projections[language](encoded) + (1 - gate) * logits
        inference = self.decoder.infer(logits, mask)
        predicted = inference.tags
        output: Dict[str, torch.Tensor] = {"logits": logits, "mask": mask, "tags": predicted}
        if not self.training:
            # exact marginals can leave [0, 1] by float rounding (1.0000076 in float32): each
            # reported probability is clamped, and the confidence is the tag's reported marginal
            marginals = inference.marginals.clamp(0.0, 1.0)
            output["marginals"] = marginals
            output["confidence"] = marginals.gather(2, predicted.unsqueeze(2)).squeeze(2)
            if top_k > 0:
                output.update(self._top_k(inference, top_k))
        teacher = TeacherSignals(teacher_logits, teacher_log_marginals, teacher_topk_tags, teacher_topk_scores)
        if teacher.given and self.distillation is None:
            raise ValueError("teacher signals were given to a tagging head without a distillation loss")
        if teacher.given:
            teacher = teacher.padded_to(mask.size(1))
        if tags is not None:
            output["loss"] = inference.loss(tags)
            if teacher.given:
                kd = self.distillation.loss(inference, teacher)
                output["distillation_loss"] = kd
                output["loss"] = self.distillation.combine(kd, output["loss"])
                self.metrics.setdefault("distillation_loss", Average())(kd.detach())
            one_hot = torch.nn.functional.one_hot(predicted, self.num_labels).float()
            self.metrics["accuracy"](one_hot, tags, mask)
            if "span_f1" in self.metrics:
                self.metrics["span_f1"](predicted, tags, mask)
        return output

    def top_k(self, logits: torch.Tensor, mask: torch.Tensor, k: int) -> Dict[str, torch.Tensor]:
        """The `k` best label sequences for `forward`'s `logits` and `mask` (see the class docstring)."""
        return self._top_k(self.decoder.infer(logits, mask), k)

    def _top_k(self, inference: Inference, k: int) -> Dict[str, torch.Tensor]:
        if not self.has_topk:
            raise ValueError(
                f"this model's {type(self.decoder).__name__} decoder has no k-best decoding; "
                "only exact decoders (the 'crf' decoder) offer top_k"
            )
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        top_tags, top_scores = inference.topk(k)
        output = {"top_k_tags": top_tags, "top_k_scores": top_scores}
        if self.decoder.has_partition:
            output["top_k_log_probs"] = top_scores - inference.log_partition.unsqueeze(1)
        return output

    def make_output_human_readable(self, output_dict: Dict[str, Any]) -> Dict[str, Any]:
        """
        Turn label ids into label strings: `tags` becomes one list of labels per sentence, cut to
        its length, and `confidence` (when present) one list of floats per sentence. The k-best
        tensors (when present) become `top_k`: per sentence a list, best first, of
        `{"tags": [...], "score": float}` (plus `"log_probability"` when the decoder has a
        partition function), leaving out ranks beyond the number of distinct sequences. A dict
        without `tags` (this head did not run) is returned as it is.
        """
        if "tags" not in output_dict or "mask" not in output_dict:
            return output_dict
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
        metrics: Dict[str, float] = {}
        for name, metric in self.metrics.items():
            value = metric.get_metric(reset)
            metrics.update(value if isinstance(value, dict) else {name: value})
        return metrics
