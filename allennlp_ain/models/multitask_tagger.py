from typing import Any, Dict, List, Optional

import torch
from allennlp.common import Lazy
from allennlp.common.checks import ConfigurationError, check_dimensions_match
from allennlp.data import TextFieldTensors, Vocabulary
from allennlp.models import Model
from allennlp.modules import TextFieldEmbedder
from allennlp.nn import InitializerApplicator, util

from allennlp_ain.models.tagging_head import TaggingHead
from allennlp_ain.modules.multitask_encoders import MultiTaskEncoder


@Model.register("ain_multitask_tagger")
class MultiTaskTagger(Model):
    """
    One model for several tagging tasks (Lu et al.'s SC-LSTM and its baselines): text field
    embedder → a `MultiTaskEncoder` (one pass, one output per task) → one `TaggingHead` per task,
    each with its own label namespace, encoding, decoder and metrics.

    Training data comes from AllenNLP's `multitask` dataset reader (which adds a `task` field) and
    `multitask` data loader with a scheduler that keeps **one task per batch** (`ain_random_interleave`,
    Algorithm 1 of the paper, or AllenNLP's `homogeneous_roundrobin`); a batch that mixes tasks is
    an error. Such a batch trains and scores its own task's head; the loss is `λ_task · L_task`
    (`loss_weights`, Eq. 4: summed over the batches of an epoch, this is the paper's `Σ_k λ^k L_k`).
    A batch without a `task` field (prediction) runs every head on the one encoder pass.

    Several languages (Lin et al., 2018): each batch's language is its instances'
    `metadata["language"]` (the readers' `language`), one per batch; the heads get it, so a head
    with per-language projections (`TaggingHead`'s `languages`) mixes its gated specific layer
    for that language with its universal one, and any other language (zero-shot) gets the
    universal layer alone. With per-language word embeddings (the `ain_multilingual` embedder), a
    batch holds one language's words by construction. Several datasets may share a task (Dutch
    NER and English NER train the one `ner` head): `dataset_tasks` names each dataset's task, as
    AllenNLP's `multitask` reader sets the `task` field to the dataset's name.

    Knowledge distillation: a head with a `distillation` loss takes the batch fields
    `teacher_logits`, `teacher_log_marginals`, `teacher_topk_tags` and `teacher_topk_scores` (its
    task's teacher outputs, see `allennlp_ain.modules.distillation`); see `TaggingHead`.

    Outputs and metrics carry the task's name: `<task>_tags`, `<task>_confidence`, ...;
    `<task>_accuracy`, `<task>_f1-measure-overall`, ... A list of validation metrics, one per task
    (AllenNLP sums them), selects on the tasks' average as the paper does. `heads` is the dict of
    tagging heads by task, which the `ain_tagger` predictor talks to.

    Registered as a `Model` with name "ain_multitask_tagger".

    # Parameters

    vocab : `Vocabulary`
    text_field_embedder : `TextFieldEmbedder`
    encoder : `MultiTaskEncoder`
        Its `tasks` are the model's tasks.
    heads : `Dict[str, Lazy[TaggingHead]]`
        One `ain_tagging_head` per task (its `label_namespace`, `label_encoding`, `decoder`, ...);
        `input_dim` is supplied from the encoder. The keys must be the encoder's tasks.
    loss_weights : `Dict[str, float]`, optional (default = `1` for every task)
        `λ` per task.
    dataset_tasks : `Dict[str, str]`, optional (default = `None`)
        The task of every dataset, by dataset name, for a `task` field that names datasets (e.g.
        `{"nl_ner": "ner", "en_ner": "ner", "nl_pos": "pos"}`). A `task` value that is not a key is
        taken as the task itself.
    dropout : `float`, optional (default = `0.0`)
        Dropout on the embeddings and on each task's encoder output.
    initializer : `InitializerApplicator`, optional (default = `InitializerApplicator()`)
    """

    def __init__(
        self,
        vocab: Vocabulary,
        text_field_embedder: TextFieldEmbedder,
        encoder: MultiTaskEncoder,
        heads: Dict[str, Lazy[TaggingHead]],
        loss_weights: Optional[Dict[str, float]] = None,
        dataset_tasks: Optional[Dict[str, str]] = None,
        dropout: float = 0.0,
        initializer: InitializerApplicator = InitializerApplicator(),
        **kwargs,
    ) -> None:
        super().__init__(vocab, **kwargs)
        tasks = list(encoder.tasks)
        if set(heads) != set(tasks):
            raise ConfigurationError(f"heads {sorted(heads)} must be the encoder's tasks {sorted(tasks)}")
        loss_weights = dict(loss_weights or {})
        unknown = set(loss_weights) - set(tasks)
        if unknown:
            raise ConfigurationError(f"loss_weights for unknown tasks {sorted(unknown)}; the tasks are {tasks}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigurationError(f"dropout must be in [0, 1), got {dropout}")
        dataset_tasks = dict(dataset_tasks or {})
        unknown = {name: task for name, task in dataset_tasks.items() if task not in tasks}
        if unknown:
            raise ConfigurationError(f"dataset_tasks {unknown} name unknown tasks; the tasks are {tasks}")
        check_dimensions_match(
            text_field_embedder.get_output_dim(), encoder.get_input_dim(), "embedding dim", "encoder input dim"
        )
        for task in tasks:
            clashes = [other for other in tasks if other != task and other.startswith(task + "_")]
            if clashes or task in ("tokens", "words", "loss"):
                raise ConfigurationError(
                    f"task name {task!r} clashes with {clashes or 'an output key'}: outputs are named <task>_<key>"
                )
        self.tasks = tasks
        self.loss_weights = {task: float(loss_weights.get(task, 1.0)) for task in tasks}
        self.dataset_tasks = dataset_tasks
        self.text_field_embedder = text_field_embedder
        self.encoder = encoder
        self.dropout = torch.nn.Dropout(dropout)
        self.task_heads = torch.nn.ModuleDict(
            {task: heads[task].construct(vocab=vocab, input_dim=encoder.get_output_dim(task)) for task in tasks}
        )
        initializer(self)

    @property
    def heads(self) -> Dict[str, TaggingHead]:
        """The tagging heads by task."""
        return dict(self.task_heads.items())

    @property
    def languages(self) -> List[str]:
        """The languages that some head has a specific projection for, sorted (empty for a
        monolingual model). Another language gets every head's universal projection alone."""
        return sorted({language for head in self.task_heads.values() for language in head.languages})

    def forward(  # type: ignore
        self,
        tokens: TextFieldTensors,
        tags: Optional[torch.LongTensor] = None,
        metadata: Optional[List[Dict[str, Any]]] = None,
        task: Optional[List[str]] = None,
        top_k: int = 0,
        teacher_logits: Optional[torch.Tensor] = None,
        teacher_log_marginals: Optional[torch.Tensor] = None,
        teacher_topk_tags: Optional[torch.LongTensor] = None,
        teacher_topk_scores: Optional[torch.Tensor] = None,
        **kwargs,
    ) -> Dict[str, Any]:
        mask = util.get_text_field_mask(tokens)
        embedded = self.dropout(self.text_field_embedder(tokens))
        encoded = self.encoder(embedded, mask)
        language = self._language(metadata)
        if task is not None:
            names = sorted({self.dataset_tasks.get(name, name) for name in task})
            if len(names) != 1:
                raise ValueError(
                    f"a batch must hold one task, got {names}: use a scheduler that keeps tasks apart "
                    "(ain_random_interleave, ain_mixing_rate or homogeneous_roundrobin)"
                )
            if names[0] not in self.task_heads:
                raise ValueError(f"unknown task {names[0]!r}; this model's tasks are {self.tasks}")
            run = names
        else:
            if tags is not None:
                raise ValueError("gold tags need a task field (AllenNLP's multitask dataset reader adds it)")
            run = self.tasks
        teacher = {
            "teacher_logits": teacher_logits,
            "teacher_log_marginals": teacher_log_marginals,
            "teacher_topk_tags": teacher_topk_tags,
            "teacher_topk_scores": teacher_topk_scores,
        }
        if task is None and any(signal is not None for signal in teacher.values()):
            raise ValueError("teacher signals need a task field: they belong to one task's head")
        output: Dict[str, Any] = {}
        for name in run:
            head_output = self.task_heads[name](
                self.dropout(encoded[name]), mask, tags, language=language, top_k=top_k, **teacher
            )
            if "loss" in head_output:
                output["loss"] = self.loss_weights[name] * head_output.pop("loss")
            output.update({f"{name}_{key}": value for key, value in head_output.items()})
        if metadata is not None:
            output["words"] = [x["words"] for x in metadata]
        return output

    @staticmethod
    def _language(metadata: Optional[List[Dict[str, Any]]]) -> Optional[str]:
        """The one language of the batch's `metadata` (`None` when unset)."""
        languages = {x.get("language") for x in metadata or []}
        if len(languages) > 1:
            raise ValueError(
                f"a batch must hold one language, got {sorted(map(str, languages))}: batch each language apart"
            )
        return next(iter(languages), None)

    def task_outputs(self, output_dict: Dict[str, Any], task: str) -> Dict[str, Any]:
        """`task`'s entries of `forward`'s output, with the `<task>_` prefix taken off."""
        prefix = f"{task}_"
        return {key[len(prefix) :]: value for key, value in output_dict.items() if key.startswith(prefix)}

    def make_output_human_readable(self, output_dict: Dict[str, Any]) -> Dict[str, Any]:
        """Each present task's outputs made readable by its head (see `TaggingHead`), names kept."""
        for name, head in self.task_heads.items():
            prefix = f"{name}_"
            own = self.task_outputs(output_dict, name)
            if not own:
                continue
            readable = head.make_output_human_readable(own)
            for key in [key for key in output_dict if key.startswith(prefix)]:
                del output_dict[key]
            output_dict.update({prefix + key: value for key, value in readable.items()})
        return output_dict

    def get_metrics(self, reset: bool = False) -> Dict[str, float]:
        metrics: Dict[str, float] = {}
        for name, head in self.task_heads.items():
            metrics.update({f"{name}_{key}": value for key, value in head.get_metrics(reset).items()})
        return metrics

    default_predictor = "ain_tagger"
