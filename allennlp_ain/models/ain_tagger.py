from typing import Any, Dict, List, Optional

import torch
from allennlp.common import Lazy
from allennlp.common.checks import ConfigurationError, check_dimensions_match
from allennlp.data import TextFieldTensors, Vocabulary
from allennlp.models import Model
from allennlp.modules import FeedForward, InputVariationalDropout, Seq2SeqEncoder, TextFieldEmbedder
from allennlp.nn import InitializerApplicator, util

from allennlp_ain.models.tagging_head import TaggingHead
from allennlp_ain.modules.decoders import SequenceDecoder
from allennlp_ain.modules.distillation import Distillation
from allennlp_ain.modules.word_dropout import WordDropout

# Weight names of archives saved before the tagging head existed (release 0.1.0), and their names now.
_RENAMED_WEIGHTS = (
    ("tag_projection_layer._module.", "head.projection."),
    ("decoder.", "head.decoder."),
    ("feedforward.", "head.feedforward."),
)


@Model.register("ain_tagger")
class AinTagger(Model):
    """
    A sequence labeller: text field embedder → seq2seq encoder → one `TaggingHead` ((feedforward)
    → linear layer to label scores → decoder). The decoder (`"decoder": {"type": "crf" | "maxent"
    | "mfvi"}`) defines the loss, the decoding and the per-token marginals; the head owns the
    labels, constraints, metrics and readable output (see `TaggingHead`).

    Metrics: token `accuracy` always; for span-encoded labels (`label_encoding` one of BIO, IOB1,
    BIOES, BMES and their aliases) also span `precision-overall`, `recall-overall`,
    `f1-measure-overall` and their per-type versions, computed like `conlleval` (`SpanF1`).

    `forward` returns `logits`, `mask`, `tags` (decoded label ids), `loss` when gold `tags` are
    given, `words` when `metadata` is given, and in evaluation mode `marginals` (per-token label
    probabilities, exact for the CRF) and `confidence` (the marginal of each predicted label). With
    `top_k > 0` (a per-call argument of `forward`, defaulting to the constructor's `top_k`) it also
    returns, in evaluation mode, the decoder's k best label sequences: `top_k_tags` `(batch, k, seq)`,
    `top_k_scores` `(batch, k)` and, when the decoder has a partition function (CRF),
    `top_k_log_probs` `(batch, k)`; a decoder without k-best paths raises `ValueError`.

    Knowledge distillation (`distillation`): batch fields `teacher_logits`,
    `teacher_log_marginals`, `teacher_topk_tags` and `teacher_topk_scores` (a teacher's outputs,
    see `allennlp_ain.modules.distillation`) go to the head, whose loss is then
    `λ · KD + (1 − λ) · gold NLL`; see `TaggingHead`.

    The configuration keys are those of release 0.1.0, and archives saved by it load: their weight
    names (`tag_projection_layer`, `decoder`, `feedforward` at the top level) are mapped to the
    head's on load.

    Registered as a `Model` with name "ain_tagger".

    # Parameters

    vocab : `Vocabulary`
    text_field_embedder : `TextFieldEmbedder`
    encoder : `Seq2SeqEncoder`
    decoder : `Lazy[SequenceDecoder]`, optional (default = `"crf"`, the decoder family's default)
        Built with `num_labels` (and `constraints`, `span_labels`) supplied by the head.
    label_namespace : `str`, optional (default = `"labels"`)
    label_encoding : `str`, optional (default = `None`)
        The labels' span encoding, for span F1 and constraints. `None` for plain tags (POS). The
        label vocabulary is checked against it at construction.
    constrain_decoding : `bool`, optional (default = `None`)
        Restrict the output to label sequences that are valid under `label_encoding`; `None` means
        on when there is a `label_encoding`. See `TaggingHead`.
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
        How many best label sequences `forward` returns in evaluation mode when the call does not
        say (0: none). Predictors pass `top_k` per call instead.
    distillation : `Distillation`, optional (default = `None`)
        A distillation loss (`loss`, `interpolation`, `temperature`, `k`) for the head; see
        `allennlp_ain.modules.distillation`.
    """

    def __init__(
        self,
        vocab: Vocabulary,
        text_field_embedder: TextFieldEmbedder,
        encoder: Seq2SeqEncoder,
        decoder: Optional[Lazy[SequenceDecoder]] = None,
        label_namespace: str = "labels",
        label_encoding: Optional[str] = None,
        constrain_decoding: Optional[bool] = None,
        feedforward: Optional[FeedForward] = None,
        dropout: float = 0.0,
        variational_dropout: bool = False,
        word_dropout: float = 0.0,
        initializer: InitializerApplicator = InitializerApplicator(),
        top_k: int = 0,
        distillation: Optional[Distillation] = None,
        **kwargs,
    ) -> None:
        super().__init__(vocab, **kwargs)
        if top_k < 0:
            raise ConfigurationError(f"top_k must be 0 or positive, got {top_k}")
        self.default_top_k = top_k
        self.text_field_embedder = text_field_embedder
        self.encoder = encoder
        check_dimensions_match(
            text_field_embedder.get_output_dim(), encoder.get_input_dim(), "embedding dim", "encoder input dim"
        )
        if not 0.0 <= dropout < 1.0:
            raise ConfigurationError(f"dropout must be in [0, 1), got {dropout}")
        if not 0.0 <= word_dropout < 1.0:
            raise ConfigurationError(f"word_dropout must be in [0, 1), got {word_dropout}")
        self.dropout = InputVariationalDropout(dropout) if variational_dropout else torch.nn.Dropout(dropout)
        self.word_dropout = WordDropout(word_dropout)
        self.head = TaggingHead(
            vocab,
            encoder.get_output_dim(),
            decoder=decoder,
            label_namespace=label_namespace,
            label_encoding=label_encoding,
            constrain_decoding=constrain_decoding,
            feedforward=feedforward,
            distillation=distillation,
        )
        self.register_load_state_dict_pre_hook(_rename_weights_of_release_0_1)
        initializer(self)

    @property
    def heads(self) -> Dict[str, TaggingHead]:
        """The model's tagging heads by task; this model has one, `"tags"`."""
        return {"tags": self.head}

    def forward(  # type: ignore
        self,
        tokens: TextFieldTensors,
        tags: Optional[torch.LongTensor] = None,
        metadata: Optional[List[Dict[str, Any]]] = None,
        top_k: Optional[int] = None,
        teacher_logits: Optional[torch.Tensor] = None,
        teacher_log_marginals: Optional[torch.Tensor] = None,
        teacher_topk_tags: Optional[torch.LongTensor] = None,
        teacher_topk_scores: Optional[torch.Tensor] = None,
        **kwargs,
    ) -> Dict[str, torch.Tensor]:
        mask = util.get_text_field_mask(tokens)
        embedded = self.word_dropout(self.text_field_embedder(tokens))
        encoded = self.dropout(self.encoder(self.dropout(embedded), mask))
        top_k = self.default_top_k if top_k is None else top_k
        output: Dict[str, Any] = self.head(
            encoded,
            mask,
            tags,
            top_k=top_k,
            teacher_logits=teacher_logits,
            teacher_log_marginals=teacher_log_marginals,
            teacher_topk_tags=teacher_topk_tags,
            teacher_topk_scores=teacher_topk_scores,
        )
        if metadata is not None:
            output["words"] = [x["words"] for x in metadata]
        return output

    def task_outputs(self, output_dict: Dict[str, Any], task: str) -> Dict[str, Any]:
        """The head's entries of `forward`'s output: all of them (this model has one head, `"tags"`)."""
        return output_dict

    def make_output_human_readable(self, output_dict: Dict[str, Any]) -> Dict[str, Any]:
        """See `TaggingHead.make_output_human_readable`."""
        return self.head.make_output_human_readable(output_dict)

    def get_metrics(self, reset: bool = False) -> Dict[str, float]:
        return self.head.get_metrics(reset)

    default_predictor = "ain_tagger"


def _rename_weights_of_release_0_1(module, state_dict, prefix, *args) -> None:
    """A `load_state_dict` pre-hook: rename the weights of archives saved by release 0.1.0."""
    for key in [k for k in state_dict if k.startswith(prefix)]:
        for old, new in _RENAMED_WEIGHTS:
            if key.startswith(prefix + old):
                state_dict[prefix + new + key[len(prefix + old) :]] = state_dict.pop(key)
                break
