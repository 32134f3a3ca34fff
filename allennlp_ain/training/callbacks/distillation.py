import hashlib
import logging
import os
import random
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy
import torch
from allennlp.common import file_utils
from allennlp.common.checks import ConfigurationError
from allennlp.common.tqdm import Tqdm
from allennlp.data import Instance
from allennlp.data.batch import Batch
from allennlp.data.fields import TensorField
from allennlp.data.vocabulary import DEFAULT_OOV_TOKEN
from allennlp.models.archival import load_archive
from allennlp.nn.util import move_to_device
from allennlp.training.callbacks.callback import TrainerCallback
from filelock import FileLock

from allennlp_ain.models.multitask_tagger import MultiTaskTagger
from allennlp_ain.models.tagging_head import TaggingHead
from allennlp_ain.modules.distillation import Distillation
from allennlp_ain.training.checkpointers.atomic import save_atomically

logger = logging.getLogger(__name__)

# The layout of a cache file; a new layout gets new cache keys, so an old file is never misread.
FORMAT_VERSION = 1

Words = Tuple[str, ...]


class _Signals(NamedTuple):
    """One sentence's teacher outputs in the teacher's label order, cut to its `n` tokens:
    `logits`, `log_marginals` `(n, L_t)`; `topk_tags` `(K, n)`, `topk_scores` `(K,)` (`None` for `K = 0`)."""

    logits: torch.Tensor
    log_marginals: torch.Tensor
    topk_tags: Optional[torch.Tensor]
    topk_scores: Optional[torch.Tensor]


@TrainerCallback.register("ain_distillation")
class DistillationCallback(TrainerCallback):
    """
    Drives structure-level knowledge distillation (`allennlp_ain.modules.distillation`): it owns
    the teachers and the `λ` schedule; the KD loss itself is in the student's tagging heads (their
    `distillation` config: `loss`, `temperature`, `k` and the starting `interpolation` `λ₀`), which
    read the teacher's outputs as batch fields (`teacher_logits`, `teacher_log_marginals`,
    `teacher_topk_tags`, `teacher_topk_scores`).

    **Teacher pass (`on_start`).** For every training instance (for AllenNLP's `multitask` data
    loader, of every dataset) whose head has a `distillation`, the teacher is chosen by the
    instance's `metadata["language"]`, else by its dataset's name (a key of `teachers`), or is the
    single `teachers` archive. Each distinct sentence is run once through its teacher in evaluation
    mode without gradient, in the teacher's own vocabulary (the words are re-indexed with the
    archive's reader and vocabulary). A teacher is an `ain_tagger` archive, or an
    `ain_multitask_tagger` archive (e.g. a multilingual model fine-tuned on one language), which
    tags with the head of the student head's task (or its only task) and reads each language with
    the reader of its training dataset of that task and language (that language's words and gate;
    a teacher without one is a `ConfigurationError` naming its datasets). The signals: the emission
    logits, the exact per-token log-marginals and, with `K` = the largest `k` of the heads' path
    losses, the `K` best label sequences and their scores. The teacher's label set must be the student head's (the
    student may have the OOV label `@@UNKNOWN@@`, which the shipped configs add, where the teacher
    has not: the teacher gives it probability 0); otherwise a `ConfigurationError` names the labels
    either side lacks. The signals are put in the student's label order and attached to the
    instances as tensor fields (only those its head's loss reads, and with the paths their scores,
    so that `top_k` ignores the ranks a short sentence lacks). The teachers are then freed:
    they are never part of the student or its archive. Instances whose language and dataset have no
    teacher train on their gold labels alone (a dataset must be all or nothing); a run in which no
    instance has a teacher is an error. The teacher pass leaves the Python, numpy and torch random
    states as it found them, so a run gives the same student whether its teacher signals were
    computed or read from the cache.

    The instances must stay in memory across epochs (the data loader's `max_instances_in_memory`
    unset, the default): a loader that reads them anew every epoch would lose the fields, and is a
    `ConfigurationError`.

    **Cache.** The signals of each teacher are kept in `cache_directory`, in one file per teacher,
    student head and language whose name is the sha256 of the teacher archive's bytes, `K`, the
    head's name, the language and the cache format version, as a
    dictionary from sentences (word tuples) to signals in the teacher's label order. A run reads it,
    computes only the sentences it lacks (the teacher archive is not even loaded when none are
    missing) and writes the union back atomically, under a file lock. So `--recover` and a second run
    with the same teachers reuse the signals, and a changed archive gets a new file.

    **Schedule.** With `annealing` = `a`, every distilling head's `λ` for epoch `e` (0-based) is
    `λ_e = max(0, λ₀ − a·e)`, `λ₀` the head's configured `interpolation` (teacher annealing: set
    `interpolation: 1.0` for the official `1 − a·e`); without it `λ` stays `λ₀`. `λ` is set in
    `on_start` for the epoch training starts at and in `on_epoch` for the next one. The state saved
    with each checkpoint (`state_dict`) is plain: the next epoch, the heads' current `λ` and the
    teachers' archive hashes, so `allennlp train --recover` continues the schedule, and a teacher
    that changed since the checkpoint is reported.

    Registered as a `TrainerCallback` with name "ain_distillation".

    # Parameters

    serialization_dir : `str`
    teachers : `Union[str, Dict[str, str]]`
        One teacher archive (path or URL) for every distilling instance, or a dictionary from a
        language (`metadata["language"]`, the readers' `language`) or a dataset name (a key of the
        `multitask` reader's `readers`) to an archive; a language key wins over a dataset key.
    annealing : `float`, optional (default = `None`)
        The teacher annealing rate `a` (the official code: 0.005 per epoch); `None` keeps `λ` fixed.
    cache_directory : `str`, optional (default = `None`)
        Where the teacher signals are cached; `None`: `ain_distillation` in AllenNLP's cache
        directory (`$ALLENNLP_CACHE_ROOT/cache`, by default `~/.allennlp/cache`).
    teacher_batch_size : `int`, optional (default = `64`)
        Sentences per teacher batch (sorted by length) in the teacher pass.
    """

    def __init__(
        self,
        serialization_dir: str,
        teachers: Union[str, Dict[str, str]],
        annealing: Optional[float] = None,
        cache_directory: Optional[str] = None,
        teacher_batch_size: int = 64,
    ) -> None:
        super().__init__(serialization_dir)
        if not teachers:
            raise ConfigurationError("ain_distillation needs teachers: an archive, or a dictionary of archives")
        if annealing is not None and annealing < 0:
            raise ConfigurationError(f"ain_distillation annealing must be at least 0, got {annealing}")
        if teacher_batch_size < 1:
            raise ConfigurationError(
                f"ain_distillation teacher_batch_size must be at least 1, got {teacher_batch_size}"
            )
        self.teachers = teachers if isinstance(teachers, str) else dict(teachers)
        self.annealing = annealing
        self.cache_directory = cache_directory
        self.teacher_batch_size = teacher_batch_size
        self._epoch = 0  # the epoch whose λ is set: the next one to train
        self._start: Dict[str, float] = {}  # λ₀ by head
        self._current: Dict[str, float] = {}
        self._hashes: Dict[str, str] = {}  # sha256 of each teacher archive, by archive
        self._restored_hashes: Optional[Dict[str, str]] = None

    # -- schedule and state --------------------------------------------------------------------

    def interpolation(self, start: float, epoch: int) -> float:
        """`λ` of epoch `epoch` (0-based) for a head whose configured `λ` is `start`."""
        if self.annealing is None:
            return start
        return max(0.0, start - self.annealing * epoch)

    def state_dict(self) -> Dict[str, Any]:
        return {"epoch": self._epoch, "interpolation": dict(self._current), "teachers": dict(self._hashes)}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        self._epoch = int(state_dict["epoch"])
        self._restored_hashes = dict(state_dict.get("teachers", {}))

    def on_epoch(self, trainer, metrics: Dict[str, Any], epoch: int, is_primary: bool = True, **kwargs) -> None:
        self._set_interpolation(trainer.model, epoch + 1)

    def _set_interpolation(self, model, epoch: int) -> None:
        self._epoch = epoch
        for name, head in _distilling_heads(model).items():
            start = self._start.setdefault(name, head.distillation.interpolation)
            head.distillation.interpolation = self._current[name] = self.interpolation(start, epoch)
        if self.annealing is not None:
            logger.info("Distillation λ for epoch %d: %s", epoch, self._current)

    # -- the teacher pass ----------------------------------------------------------------------

    def on_start(self, trainer, is_primary: bool = True, **kwargs) -> None:
        model = trainer.model
        heads = _distilling_heads(model)
        if not heads:
            raise ConfigurationError(
                "ain_distillation: no tagging head of the model has a `distillation` loss "
                "(e.g. the ain_tagger's \"distillation\": {\"loss\": \"posterior\"})"
            )
        self._set_interpolation(model, self._epoch)
        device = trainer.cuda_device
        cuda_device = device.index if isinstance(device, torch.device) and device.type == "cuda" else -1
        with _random_state_kept(cuda_device):
            self._annotate(trainer.data_loader, model, heads, cuda_device)

    def _annotate(self, data_loader, model, heads: Dict[str, TaggingHead], cuda_device: int) -> None:
        k = max([head.distillation.k or 0 for head in heads.values()])
        dataset_tasks: Dict[str, str] = dict(getattr(model, "dataset_tasks", None) or {})
        # (instance, head name, teacher archive) of every instance that distils
        work: List[Tuple[Instance, str, str]] = []
        without: List[str] = []
        for dataset, loader in _dataset_loaders(data_loader).items():
            taught, untaught = 0, 0
            for instance in _instances_in_memory(loader, dataset):
                head = _head_of(instance, model, dataset_tasks)
                if head not in heads:
                    continue
                archive = self._teacher_of(_language_of(instance), dataset or _dataset_of(instance))
                if archive is None:
                    untaught += 1
                    continue
                taught += 1
                work.append((instance, head, archive))
            where = "the training data" if dataset is None else f"dataset {dataset!r}"
            if taught and untaught:
                raise ConfigurationError(
                    f"ain_distillation: {where} has {taught} instances with a teacher and {untaught} without "
                    "(by language and dataset); a batch cannot mix them: give every language of it a teacher"
                )
            if untaught:
                without.append(where)
        if not work:
            raise ConfigurationError(
                f"ain_distillation: no training instance of a distilling head has a teacher; the teachers are "
                f"keyed by {sorted(self.teachers) if isinstance(self.teachers, dict) else self.teachers!r}, "
                "by language (the readers' `language`) or dataset name"
            )
        for where in without:
            logger.warning("ain_distillation: %s has no teacher; it trains on its gold labels alone", where)

        # one teacher pass per archive, student head and language: a multi-task teacher reads each
        # language with its own words and gate, and tags with the head of the student head's task
        groups: Dict[Tuple[str, str, str], List[Instance]] = {}
        for instance, head, archive in work:
            groups.setdefault((archive, head, _language_of(instance) or ""), []).append(instance)
        for (archive, head, language), group in sorted(groups.items()):  # keys are unique
            sentences = sorted({_words_of(instance) for instance in group})
            view = _View(archive, head, language or None)
            labels, signals = self._signals(view, sentences, k, cuda_device)
            converter = _LabelMap(archive, labels, heads[head], head)
            for instance in group:
                fields = converter.fields(signals[_words_of(instance)], _attached(heads[head].distillation))
                for name, field in fields.items():
                    instance.add_field(name, field)
        logger.info("ain_distillation: teacher signals attached to %d training instances", len(work))

    def _teacher_of(self, language: Optional[str], dataset: Optional[str]) -> Optional[str]:
        if isinstance(self.teachers, str):
            return self.teachers
        for key in (language, dataset):
            if key is not None and key in self.teachers:
                return self.teachers[key]
        return None

    def _signals(
        self, view: "_View", sentences: List[Words], k: int, cuda_device: int
    ) -> Tuple[List[str], Dict[Words, _Signals]]:
        """The teacher's labels and the signals of `sentences`, from the cache and the teacher."""
        archive = view.archive
        archive_file = file_utils.cached_path(archive)
        digest = _sha256(archive_file)
        self._hashes[archive] = digest
        if self._restored_hashes is not None and self._restored_hashes.get(archive, digest) != digest:
            logger.warning(
                "ain_distillation: the teacher %s changed since the checkpoint; its signals are new", archive
            )
        # the student head and the language choose a multi-task teacher's head and words
        key = hashlib.sha256(
            f"ain_distillation:{FORMAT_VERSION}:{digest}:{k}:{view.head}:{view.language}".encode()
        ).hexdigest()
        directory = Path(self.cache_directory or os.path.join(file_utils.CACHE_DIRECTORY, "ain_distillation"))
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{key}.pt"
        with FileLock(str(path) + ".lock"):
            # plain types only (tensors, tuples, strings), which `torch.load` reads with `weights_only`
            cached: Dict[str, Any] = torch.load(path) if path.is_file() else {"labels": None, "signals": {}}
            missing = [words for words in sentences if words not in cached["signals"]]
            logger.info(
                "ain_distillation: teacher %s (%s head, language %s): %d sentences, %d cached (%s)",
                archive, view.head, view.language, len(sentences), len(sentences) - len(missing), path,
            )
            if missing:
                labels, computed = self._run_teacher(view, archive_file, missing, k, cuda_device)
                cached = {
                    "format": FORMAT_VERSION, "archive_sha256": digest, "k": k, "labels": labels,
                    "signals": {**cached["signals"], **{words: tuple(signals) for words, signals in computed.items()}},
                }
                save_atomically(cached, path)
        return cached["labels"], {words: _Signals(*signals) for words, signals in cached["signals"].items()}

    def _run_teacher(
        self, view: "_View", archive_file: str, sentences: List[Words], k: int, cuda_device: int
    ) -> Tuple[List[str], Dict[Words, _Signals]]:
        archive = view.archive
        logger.info("ain_distillation: loading the teacher %s", archive)
        loaded = load_archive(archive_file, cuda_device=cuda_device)
        teacher = loaded.model.eval()
        run = _TeacherRun.of(loaded, view)
        if k > 0 and not run.head.has_topk:
            raise ConfigurationError(
                f"ain_distillation: the path losses need the teacher's {k} best paths, and the teacher {archive} "
                f"has a {type(run.head.decoder).__name__} decoder without k-best decoding: use a crf teacher"
            )
        signals: Dict[Words, _Signals] = {}
        order = sorted(sentences, key=len)
        batches = [order[i : i + self.teacher_batch_size] for i in range(0, len(order), self.teacher_batch_size)]
        with torch.no_grad():
            for batch in Tqdm.tqdm(batches, desc=f"teacher {Path(archive).name}"):
                instances = []
                for words in batch:
                    instance = run.reader.text_to_instance(list(words))
                    run.reader.apply_token_indexers(instance)
                    instances.append(instance)
                tensors = Batch(instances)
                tensors.index_instances(teacher.vocab)
                inputs = move_to_device(tensors.as_tensor_dict(), cuda_device)
                output = run.forward(teacher, inputs, len(batch))
                inference = run.head.decoder.infer(output["logits"], output["mask"])
                log_marginals = inference.log_marginals
                topk_tags, topk_scores = inference.topk(k) if k > 0 else (None, None)
                lengths = output["mask"].sum(1).tolist()
                for row, words in enumerate(batch):
                    n = len(words)
                    if lengths[row] != n:
                        raise ConfigurationError(
                            f"ain_distillation: the teacher {archive} reads {lengths[row]} tokens for a sentence of "
                            f"{n} words; teacher and student must tokenize alike"
                        )
                    signals[words] = _Signals(
                        output["logits"][row, :n].float().cpu().clone(),
                        log_marginals[row, :n].float().cpu().clone(),
                        None if topk_tags is None else topk_tags[row, :, :n].cpu().clone(),
                        None if topk_scores is None else topk_scores[row].float().cpu().clone(),
                    )
        labels = run.head.labels
        del loaded, teacher, run
        if cuda_device >= 0:
            torch.cuda.empty_cache()
        return labels, signals


class _View(NamedTuple):
    """What one teacher pass asks of a teacher: the archive, the student head it teaches and the
    sentences' language (`None` when the instances have none)."""

    archive: str
    head: str
    language: Optional[str]


class _TeacherRun:
    """
    How a loaded teacher archive tags the sentences of one `_View`: the dataset reader that turns
    words into the teacher's instances, the teacher's tagging head, and the forward call that gives
    that head's `logits` and `mask`.

    - An `ain_tagger` teacher: its validation dataset reader and its one head.
    - An `ain_multitask_tagger` teacher (say, a multilingual model fine-tuned on one language): the
      head of the student head's task (or the teacher's only task), and the reader of the teacher's
      training dataset of that task in the sentences' language (its words and language gate); a
      teacher without such a dataset is a `ConfigurationError` naming the datasets it has.
    """

    def __init__(self, reader, head: TaggingHead, task: Optional[str] = None, dataset: Optional[str] = None):
        self.reader = reader
        self.head = head
        self.task = task
        self.dataset = dataset

    def forward(self, teacher, inputs: Dict[str, Any], size: int) -> Dict[str, Any]:
        if self.task is None:
            return teacher(tokens=inputs["tokens"])
        output = teacher(tokens=inputs["tokens"], metadata=inputs.get("metadata"), task=[self.dataset] * size)
        return teacher.task_outputs(output, self.task)

    @classmethod
    def of(cls, loaded, view: _View) -> "_TeacherRun":
        teacher = loaded.model
        archive = view.archive
        if isinstance(teacher, MultiTaskTagger):
            tasks = list(teacher.tasks)
            if view.head in tasks:
                task = view.head
            elif len(tasks) == 1:
                task = tasks[0]
            else:
                raise ConfigurationError(
                    f"ain_distillation: the teacher {archive} has the tasks {tasks} and none is the student's "
                    f"{view.head!r} head; name the student's head like the teacher's task"
                )
            # AllenNLP's multitask reader wraps each dataset's reader in a shim (`inner`)
            readers = {
                name: getattr(reader, "inner", reader)
                for name, reader in (getattr(loaded.dataset_reader, "readers", None) or {}).items()
            }
            datasets = {
                name: (getattr(reader, "language", None), teacher.dataset_tasks.get(name, name))
                for name, reader in readers.items()
            }
            fitting = sorted(name for name, (language, of) in datasets.items() if of == task and language == view.language)
            if not fitting:
                have = ", ".join(f"{name} (language {language}, task {of})" for name, (language, of) in sorted(datasets.items()))
                raise ConfigurationError(
                    f"ain_distillation: the teacher {archive} has no training dataset of task {task!r} in language "
                    f"{view.language!r} to read the student's sentences with; its datasets: {have or 'none'}"
                )
            return cls(readers[fitting[0]], teacher.heads[task], task, fitting[0])
        head = getattr(teacher, "head", None)
        if not isinstance(head, TaggingHead):
            raise ConfigurationError(
                f"ain_distillation: the teacher {archive} is a {type(teacher).__name__}; a teacher must be an "
                "ain_tagger or ain_multitask_tagger archive"
            )
        return cls(loaded.validation_dataset_reader, head)


class _LabelMap:
    """A teacher's signals in one student head's label order, as tensor fields."""

    def __init__(self, archive: str, teacher_labels: Sequence[str], head: TaggingHead, name: str) -> None:
        student_labels = head.labels
        teacher_index = {label: i for i, label in enumerate(teacher_labels)}
        lacks = [label for label in student_labels if label not in teacher_index and label != DEFAULT_OOV_TOKEN]
        extra = [label for label in teacher_labels if label not in set(student_labels)]
        if lacks or extra:
            raise ConfigurationError(
                f"ain_distillation: the teacher {archive} and the student's {name!r} head must have one label set "
                f"(namespace {head.label_namespace!r}); labels of the student missing in the teacher: "
                f"{lacks or 'none'}; labels of the teacher missing in the student: {extra or 'none'}"
            )
        # student label i <- teacher column source[i]; the student's OOV label may have none
        self.present = torch.tensor([label in teacher_index for label in student_labels])
        self.source = torch.tensor([teacher_index[label] for label in student_labels if label in teacher_index])
        self.to_student = torch.empty(len(teacher_labels), dtype=torch.long)
        for i, label in enumerate(student_labels):
            if label in teacher_index:
                self.to_student[teacher_index[label]] = i

    def _columns(self, scores: torch.Tensor) -> torch.Tensor:
        out = scores.new_full((scores.size(0), self.present.numel()), float("-inf"))
        out[:, self.present] = scores[:, self.source]
        return out

    def fields(self, signals: _Signals, needs: Sequence[str]) -> Dict[str, TensorField]:
        values = {
            "logits": lambda: self._columns(signals.logits),
            "log_marginals": lambda: self._columns(signals.log_marginals),
            "topk_tags": lambda: self.to_student[signals.topk_tags.long()],
            "topk_scores": lambda: signals.topk_scores,
        }
        return {f"teacher_{name}": TensorField(values[name](), padding_value=0) for name in needs}


def _attached(distillation: Distillation) -> Tuple[str, ...]:
    """
    The teacher signals to attach for a head's `distillation`: those its loss reads and, with the
    teacher's paths, their scores too (`top_k` weighs its paths equally and reads no scores, but
    without them it would count the ranks beyond a short sentence's number of label sequences,
    which the teacher scores `-inf` and fills with repeats of real paths, as real paths).
    """
    needs = tuple(distillation.needs)
    if "topk_tags" in needs and "topk_scores" not in needs:
        needs += ("topk_scores",)
    return needs


def _distilling_heads(model) -> Dict[str, TaggingHead]:
    heads = getattr(model, "heads", None)
    if not isinstance(heads, dict):
        raise ConfigurationError(
            f"ain_distillation: the model is a {type(model).__name__}; the students are ain_tagger and "
            "ain_multitask_tagger models"
        )
    return {
        name: head
        for name, head in heads.items()
        if isinstance(head, TaggingHead) and head.distillation is not None
    }


def _head_of(instance: Instance, model, dataset_tasks: Dict[str, str]) -> Optional[str]:
    heads = list(model.heads)
    if len(heads) == 1:
        return heads[0]
    task = _dataset_of(instance)
    return None if task is None else dataset_tasks.get(task, task)


def _dataset_of(instance: Instance) -> Optional[str]:
    """The `task` field of AllenNLP's `multitask` reader: the dataset's name."""
    field = instance.fields.get("task")
    return None if field is None else field.metadata  # type: ignore[attr-defined]


def _language_of(instance: Instance) -> Optional[str]:
    field = instance.fields.get("metadata")
    metadata = getattr(field, "metadata", None)
    return metadata.get("language") if isinstance(metadata, dict) else None


def _words_of(instance: Instance) -> Words:
    field = instance.fields.get("metadata")
    metadata = getattr(field, "metadata", None)
    if isinstance(metadata, dict) and "words" in metadata:
        return tuple(metadata["words"])
    return tuple(token.text for token in instance.fields["tokens"].tokens)  # type: ignore[attr-defined]


def _dataset_loaders(data_loader) -> Dict[Optional[str], Any]:
    """The loader of each dataset: AllenNLP's `multitask` loader's, else `{None: data_loader}`."""
    loaders = getattr(data_loader, "_loaders", None)
    return dict(loaders) if isinstance(loaders, dict) else {None: data_loader}


def _instances_in_memory(loader, dataset: Optional[str]) -> List[Instance]:
    """The loader's instances, which must be the same objects on every pass."""
    where = "" if dataset is None else f" of dataset {dataset!r}"
    limit = getattr(loader, "max_instances_in_memory", None)
    if limit is not None:
        raise ConfigurationError(
            f"ain_distillation: the data loader{where} reads its instances anew every epoch "
            f"(max_instances_in_memory = {limit}), which would lose the teacher signals attached to them; "
            "distillation needs the training instances in memory: leave max_instances_in_memory unset"
        )
    instances = list(loader.iter_instances())  # read in full first: a partial first read is cached partially
    if instances and next(iter(loader.iter_instances()), None) is not instances[0]:
        raise ConfigurationError(
            f"ain_distillation: the data loader{where} gives new instances on every pass (it is lazy), which would "
            "lose the teacher signals attached to them; distillation needs a loader that keeps its instances in memory"
        )
    return instances


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def _random_state_kept(cuda_device: int) -> Iterator[None]:
    """The Python, numpy and torch random states are the same after the block as before it (loading
    an archive builds, and so randomly initialises, a model)."""
    python_state = random.getstate()
    numpy_state = numpy.random.get_state()
    with torch.random.fork_rng(devices=[cuda_device] if cuda_device >= 0 else []):
        yield
    random.setstate(python_state)
    numpy.random.set_state(numpy_state)
