"""
The `ain_distillation` trainer callback: the teacher pass (signals in the student's label order,
equal to the teacher's own outputs), the cache (reused without loading the teacher, invalidated by a
changed archive), the clear errors (label sets, loaders that do not keep their instances), the λ
schedule and its state across a killed and recovered `allennlp train`, a distillation through the
command line whose archive predicts without any teacher weight, and that the KD term really drives
training (with λ = 1 the gold tags do not matter).
"""
import copy
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from allennlp.commands.train import train_model
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.data import DatasetReader, Vocabulary
from allennlp.data.data_loaders import MultiProcessDataLoader
from allennlp.data.vocabulary import DEFAULT_OOV_TOKEN
from allennlp.models import Model
from allennlp.models.archival import load_archive
from allennlp.predictors import Predictor
from allennlp.training.callbacks.callback import TrainerCallback

import allennlp_ain  # noqa: F401  (registers the components)
from allennlp_ain.modules.distillation import TeacherSignals
from allennlp_ain.training.callbacks import distillation as distillation_module
from allennlp_ain.training.callbacks.distillation import DistillationCallback
from tests.helpers import FIXTURES, ROOT

NER_SAMPLE = FIXTURES / "conll" / "ner_sample.txt"
READER = {"type": "ain_conll", "tag_scheme": "BIO", "convert_to": "BIOES"}
ALLENNLP = str(Path(sys.executable).parent / "allennlp")


def _model_config(decoder="mfvi", distillation=None):
    return {
        "type": "ain_tagger",
        "text_field_embedder": {"token_embedders": {"tokens": {"type": "embedding", "embedding_dim": 8}}},
        "encoder": {"type": "lstm", "input_size": 8, "hidden_size": 6, "bidirectional": True},
        "decoder": {"type": decoder, **({"order": 1, "iterations": 3} if decoder == "mfvi" else {})},
        "label_encoding": "BIOES",
        "distillation": distillation or {"loss": "posterior+top_wk", "k": 3, "temperature": 2.0},
    }


def _student_config(teacher, cache, distillation=None, annealing=None, epochs=2, **extra):
    callback = {"type": "ain_distillation", "teachers": str(teacher), "cache_directory": str(cache)}
    if annealing is not None:
        callback["annealing"] = annealing
    return {
        "dataset_reader": dict(READER),
        "train_data_path": str(NER_SAMPLE),
        "validation_data_path": str(NER_SAMPLE),
        "model": _model_config(distillation=distillation),
        "data_loader": {"batch_size": 4, "shuffle": True},
        "trainer": {
            "optimizer": {"type": "adam", "lr": 0.01},
            "num_epochs": epochs,
            "cuda_device": -1,
            "callbacks": [{"type": "ain_rng_state"}, callback],
        },
        **extra,
    }


def _loader(**options) -> MultiProcessDataLoader:
    return MultiProcessDataLoader(DatasetReader.from_params(Params(dict(READER))), str(NER_SAMPLE), batch_size=4, **options)


def _fixture_vocab() -> Vocabulary:
    return Vocabulary.from_instances(_loader().iter_instances())


def _loader_and_student(vocab=None, distillation=None, **loader_options):
    """A training loader on the fixture and an `ain_tagger` student indexed with `vocab` (default:
    built from the fixture)."""
    loader = _loader(**loader_options)
    vocab = vocab or _fixture_vocab()
    loader.index_with(vocab)
    student = Model.from_params(Params(_model_config(distillation=distillation)), vocab=vocab)
    return loader, student


def _teach(loader, student, teacher, cache, **options) -> DistillationCallback:
    callback = DistillationCallback("unused", teachers=str(teacher), cache_directory=str(cache), **options)
    callback.on_start(SimpleNamespace(model=student, data_loader=loader, cuda_device=torch.device("cpu")))
    return callback


def _reversed_labels(vocab: Vocabulary) -> Vocabulary:
    """`vocab` with its labels in reverse order and the OOV label added: another label order."""
    labels = list(vocab.get_index_to_token_vocabulary("labels").values())[::-1]
    result = Vocabulary(non_padded_namespaces=["labels"])
    result.add_tokens_to_namespace(list(vocab.get_token_to_index_vocabulary("tokens")), "tokens")
    result.add_tokens_to_namespace(labels + [DEFAULT_OOV_TOKEN], "labels")
    return result


@pytest.fixture
def counted_loads(monkeypatch):
    """The archives the callback loads, in order."""
    loads = []
    original = distillation_module.load_archive

    def load(path, **kwargs):
        loads.append(path)
        return original(path, **kwargs)

    monkeypatch.setattr(distillation_module, "load_archive", load)
    return loads


def test_the_signals_are_the_teachers_outputs_in_the_students_label_order(trained_archive, tmp_path, counted_loads):
    vocab = _reversed_labels(_fixture_vocab())
    loader, student = _loader_and_student(vocab)
    _teach(loader, student, trained_archive, tmp_path / "cache")
    assert len(counted_loads) == 1

    archive = load_archive(str(trained_archive))
    teacher = archive.model.eval()
    teacher_labels = teacher.head.labels
    student_labels = student.head.labels
    assert student_labels != teacher_labels and student_labels[-1] == DEFAULT_OOV_TOKEN
    reader = archive.validation_dataset_reader
    instances = list(loader.iter_instances())
    assert len(instances) == 10
    for instance in instances:
        words = instance["metadata"]["words"]
        fields = {name: instance[name].tensor for name in instance.fields if name.startswith("teacher_")}
        assert sorted(fields) == ["teacher_log_marginals", "teacher_topk_scores", "teacher_topk_tags"]
        own = reader.text_to_instance(words)
        reader.apply_token_indexers(own)
        with torch.no_grad():
            output = teacher.forward_on_instances([own])[0]
        # the teacher's marginals and its best path, in the student's label order (float32, the
        # signals from batches of several sentences: a few units in the fifth decimal apart)
        for label in teacher_labels:
            mine, theirs = student_labels.index(label), teacher_labels.index(label)
            assert fields["teacher_log_marginals"][:, mine].exp() == pytest.approx(output["marginals"][:, theirs], abs=1e-4)
        assert torch.all(fields["teacher_log_marginals"][:, -1] == float("-inf"))  # the teacher has no OOV label
        assert [student_labels[i] for i in fields["teacher_topk_tags"][0].tolist()] == output["tags"]
        assert fields["teacher_topk_tags"].shape == (3, len(words)) and fields["teacher_topk_scores"].shape == (3,)
        assert fields["teacher_topk_scores"][0] >= fields["teacher_topk_scores"][1]


def test_the_cache_is_reused_and_a_changed_teacher_gets_new_signals(trained_archive, tmp_path, counted_loads):
    def signals(loader):
        return [instance["teacher_log_marginals"].tensor for instance in loader.iter_instances()]

    cache = tmp_path / "cache"
    loader, student = _loader_and_student()
    first = _teach(loader, student, trained_archive, cache)
    computed = signals(loader)
    assert len(counted_loads) == 1 and len(list(cache.glob("*.pt"))) == 1

    loader, student = _loader_and_student()  # a second run: fresh instances, the same teacher
    assert _teach(loader, student, trained_archive, cache).state_dict()["teachers"] == first.state_dict()["teachers"]
    assert len(counted_loads) == 1, "the cached signals were computed again"
    assert all(torch.equal(a, b) for a, b in zip(signals(loader), computed))

    # another teacher archive (other weights) is another cache entry
    changed = tmp_path / "changed" / "model.tar.gz"
    _perturbed_copy(trained_archive, changed)
    loader, student = _loader_and_student()
    _teach(loader, student, changed, cache)
    assert counted_loads == [str(trained_archive), str(changed)] and len(list(cache.glob("*.pt"))) == 2
    assert not all(torch.allclose(a, b) for a, b in zip(signals(loader), computed))

    # a different K (a head with more paths) is another cache entry too
    loader, student = _loader_and_student(distillation={"loss": "top_wk", "k": 4})
    _teach(loader, student, trained_archive, cache)
    assert len(counted_loads) == 3 and len(list(cache.glob("*.pt"))) == 3


def _perturbed_copy(archive: Path, target: Path) -> None:
    folder = target.parent / "files"
    with tarfile.open(archive) as tar:
        tar.extractall(folder, filter="data")
    weights = torch.load(folder / "weights.th")
    weights = {name: value + 0.5 * torch.randn_like(value) if value.is_floating_point() else value for name, value in weights.items()}
    torch.save(weights, folder / "weights.th")
    with tarfile.open(target, "w:gz") as tar:
        for path in sorted(folder.iterdir()):
            tar.add(path, arcname=path.name)


def test_a_teacher_with_other_labels_is_a_clear_error(trained_archive, tmp_path):
    fixture = _fixture_vocab()
    labels = [label for label in fixture.get_index_to_token_vocabulary("labels").values() if label != "S-MISC"]
    vocab = Vocabulary(non_padded_namespaces=["labels"])
    vocab.add_tokens_to_namespace(list(fixture.get_token_to_index_vocabulary("tokens")), "tokens")
    # the OOV label, which the student may have and the teacher not, reads the fixture's S-MISC
    vocab.add_tokens_to_namespace(labels + ["B-DATE", "E-DATE", DEFAULT_OOV_TOKEN], "labels")
    loader, student = _loader_and_student(vocab)
    with pytest.raises(ConfigurationError) as error:
        _teach(loader, student, trained_archive, tmp_path / "cache")
    message = str(error.value)
    assert "missing in the teacher: ['B-DATE', 'E-DATE']" in message
    assert "missing in the student: ['S-MISC']" in message


def test_a_loader_that_does_not_keep_its_instances_is_a_clear_error(trained_archive, tmp_path):
    loader, student = _loader_and_student(max_instances_in_memory=4)
    with pytest.raises(ConfigurationError, match="max_instances_in_memory = 4.*lose the teacher signals"):
        _teach(loader, student, trained_archive, tmp_path / "cache")


def test_a_model_without_a_distilling_head_is_a_clear_error(trained_archive, tmp_path):
    loader, student = _loader_and_student()
    student.head.distillation = None
    with pytest.raises(ConfigurationError, match="no tagging head of the model has a `distillation` loss"):
        _teach(loader, student, trained_archive, tmp_path / "cache")


def test_teachers_that_match_no_instance_are_a_clear_error(trained_archive, tmp_path):
    loader, student = _loader_and_student()  # the reader sets no language
    with pytest.raises(ConfigurationError, match="no training instance of a distilling head has a teacher"):
        callback = DistillationCallback("unused", teachers={"de": str(trained_archive)}, cache_directory=str(tmp_path))
        callback.on_start(SimpleNamespace(model=student, data_loader=loader, cuda_device=torch.device("cpu")))


def test_top_k_gets_the_path_scores_so_a_short_sentence_counts_only_its_real_paths(trained_archive, tmp_path):
    # a one-word sentence has L label sequences: with k > L the teacher's surplus ranks score -inf
    # and repeat real paths, and top_k (which weighs paths equally) must not count them
    data = tmp_path / "data.txt"
    data.write_text(NER_SAMPLE.read_text(encoding="utf-8").rstrip("\n") + "\n\nBerlin NNP B-NP B-LOC\n", encoding="utf-8")
    loader = MultiProcessDataLoader(DatasetReader.from_params(Params(dict(READER))), str(data), batch_size=4)
    vocab = Vocabulary.from_instances(loader.iter_instances())
    loader.index_with(vocab)
    num_labels = vocab.get_vocab_size("labels")
    distillation = {"loss": "top_k", "k": num_labels + 3}
    student = Model.from_params(Params(_model_config(distillation=distillation)), vocab=vocab)
    _teach(loader, student, trained_archive, tmp_path / "cache")
    (one_word,) = [instance for instance in loader.iter_instances() if len(instance["tokens"]) == 1]
    assert "teacher_topk_scores" in one_word.fields
    tags, scores = one_word["teacher_topk_tags"].tensor, one_word["teacher_topk_scores"].tensor
    real = scores > float("-inf")
    assert int(real.sum()) == num_labels and not real[-1]  # surplus ranks there are
    inference = student.head.decoder.infer(torch.randn(1, 1, num_labels), torch.ones(1, 1, dtype=torch.bool))
    teacher = TeacherSignals(topk_tags=tags.unsqueeze(0), topk_scores=scores.unsqueeze(0))
    kd = student.head.distillation.per_sentence(inference, teacher)
    expected = -inference.paths_log_likelihood(tags[real].unsqueeze(0)).mean()
    assert kd.item() == pytest.approx(expected.item(), abs=1e-6)


@pytest.mark.parametrize("annealing, expected", [(None, [0.5, 0.5, 0.5]), (0.2, [0.5, 0.3, 0.1]), (0.3, [0.5, 0.2, 0.0])])
def test_the_schedule_anneals_from_the_heads_lambda(annealing, expected):
    callback = DistillationCallback("unused", teachers="t.tar.gz", annealing=annealing)
    assert [callback.interpolation(0.5, epoch) for epoch in range(3)] == pytest.approx(expected)


# -- through `allennlp train` ------------------------------------------------------------------


@TrainerCallback.register("ain_test_distillation_probe")
class DistillationProbe(TrainerCallback):
    """Test-only: writes each trained epoch's λ to `$DISTILLATION_PROBE` (one line per epoch) and,
    with `$DISTILLATION_CRASH_EPOCH`, ends the process abruptly at that epoch's first batch."""

    def on_batch(self, trainer, batch_inputs, batch_outputs, batch_metrics, epoch, batch_number, is_training, **kwargs):
        if not is_training or batch_number != 1:
            return
        if os.environ.get("DISTILLATION_CRASH_EPOCH") == str(epoch):
            os._exit(9)
        with open(os.environ["DISTILLATION_PROBE"], "a") as probe:
            probe.write(json.dumps([epoch, trainer.model.head.distillation.interpolation]) + "\n")


def _cli_train(config: dict, run: Path, env: dict, *extra: str) -> subprocess.CompletedProcess:
    config_file = run.parent / f"{run.name}.json"
    config_file.write_text(json.dumps(config))
    command = [ALLENNLP, "train", str(config_file), "-s", str(run), "--include-package", "allennlp_ain",
               "--include-package", "tests.training.callbacks.distillation_test", *extra]
    return subprocess.run(command, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1", **env},
                          capture_output=True, text=True, timeout=600)


def _probe(path: Path):
    return [tuple(json.loads(line)) for line in path.read_text().splitlines()]


def test_the_schedule_and_its_state_survive_a_killed_run_and_recover(trained_archive, tmp_path):
    """λ from 1 by 0.25 per epoch over 4 epochs: the run killed in epoch 2 and resumed with
    `--recover` trains epochs 2 and 3 with λ = 0.5 and 0.25, and ends with the uninterrupted run's
    metrics (the teacher signals then come from the cache)."""
    config = _student_config(trained_archive, tmp_path / "cache", {"loss": "posterior", "interpolation": 1.0},
                             annealing=0.25, epochs=4)
    config["trainer"]["callbacks"].append({"type": "ain_test_distillation_probe"})
    schedule = [(0, 1.0), (1, 0.75), (2, 0.5), (3, 0.25)]

    result = _cli_train(config, tmp_path / "reference", {"DISTILLATION_PROBE": str(tmp_path / "reference.probe")})
    assert result.returncode == 0, result.stderr[-3000:]
    assert _probe(tmp_path / "reference.probe") == schedule

    env = {"DISTILLATION_PROBE": str(tmp_path / "killed.probe")}
    killed = _cli_train(config, tmp_path / "killed", {**env, "DISTILLATION_CRASH_EPOCH": "2"})
    assert killed.returncode == 9 and not (tmp_path / "killed" / "metrics.json").exists()
    assert _probe(tmp_path / "killed.probe") == schedule[:2]
    state = torch.load(tmp_path / "killed" / "training_state_e2_b0.th", weights_only=False)["callbacks"][1]
    assert state["epoch"] == 2 and state["interpolation"] == {"tags": 0.5} and list(state["teachers"]) == [str(trained_archive)]

    recovered = _cli_train(config, tmp_path / "killed", env, "--recover")
    assert recovered.returncode == 0, recovered.stderr[-3000:]
    assert _probe(tmp_path / "killed.probe") == schedule
    # the teacher ran once, for the reference run: the killed run and its recovery read the cache
    assert (tmp_path / "killed" / "out.log").read_text().count(": 10 sentences, 10 cached (") == 2
    reference = json.loads((tmp_path / "reference" / "metrics.json").read_text())
    metrics = json.loads((tmp_path / "killed" / "metrics.json").read_text())
    for key in ("training_loss", "training_distillation_loss", "best_validation_accuracy", "validation_loss"):
        assert metrics[key] == pytest.approx(reference[key], abs=1e-6), key


def test_a_distilled_student_trains_through_the_command_line_and_its_archive_has_no_teacher(trained_archive, tmp_path):
    config = _student_config(trained_archive, tmp_path / "cache")
    result = _cli_train(config, tmp_path / "run", {})
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["training_distillation_loss"] > 0
    assert metrics["validation_distillation_loss"] == 0  # validation has no teacher signals: gold loss alone

    with tarfile.open(tmp_path / "run" / "model.tar.gz") as archive:
        names = archive.getnames()
    assert not [name for name in names if name.endswith((".tar.gz", ".pt"))], names
    loaded = load_archive(str(tmp_path / "run" / "model.tar.gz"))
    weights = set(loaded.model.state_dict())
    assert all(name.startswith(("text_field_embedder.", "encoder.", "head.")) for name in weights), weights
    assert weights == set(Model.from_params(Params(_model_config()), vocab=loaded.model.vocab).state_dict())
    output = Predictor.from_archive(loaded).predict_json({"sentence": "Maria Lopez flew to Berlin ."})
    assert len(output["tags"]) == 6


def test_with_lambda_one_the_gold_tags_do_not_matter_and_with_less_they_do(trained_archive, tmp_path, monkeypatch):
    """The student's loss is `λ · KD + (1 − λ) · gold`: trained with λ = 1 on the fixture and on the
    fixture with every gold tag replaced by `O`, the students are identical; with λ = 0.5 not."""
    vocabulary = tmp_path / "teacher"
    with tarfile.open(trained_archive) as tar:
        tar.extractall(vocabulary, filter="data")
    lines = NER_SAMPLE.read_text().splitlines()
    all_o = tmp_path / "all_o.txt"
    all_o.write_text("\n".join(" ".join(line.split()[:-1] + ["O"]) if line.split() and not line.startswith("-DOCSTART-") else line
                               for line in lines) + "\n")

    def train(data: Path, interpolation: float, name: str):
        config = _student_config(trained_archive, tmp_path / "cache", {"loss": "top_k", "interpolation": interpolation},
                                 vocabulary={"type": "from_files", "directory": str(vocabulary / "vocabulary")})
        config["train_data_path"] = str(data)
        del config["validation_data_path"]
        model = train_model(Params(copy.deepcopy(config)), str(tmp_path / name))
        return {key: value.clone() for key, value in model.state_dict().items()}

    gold, other = train(NER_SAMPLE, 1.0, "gold"), train(all_o, 1.0, "all_o")
    assert all(torch.equal(gold[key], other[key]) for key in gold)
    gold, other = train(NER_SAMPLE, 0.5, "gold_half"), train(all_o, 0.5, "all_o_half")
    assert not all(torch.allclose(gold[key], other[key]) for key in gold)
