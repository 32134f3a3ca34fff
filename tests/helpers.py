"""Shared test helpers: where the repository, its fixtures and the real data are, small readers, and
the multilingual configs' parameters on the fixtures."""
import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
CONFIGS = ROOT / "training_configs"
GLOVE = FIXTURES / "embeddings" / "glove_sample.txt"
# The real corpora (research licences, never copied into the repository). AIN_SHARED_DATA names the
# folder; by default it is the `shared/data` folder beside the checkout.
SHARED_DATA = Path(os.environ.get("AIN_SHARED_DATA", ROOT.parent / "shared" / "data")).resolve()

needs_data = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"the shared data folder {SHARED_DATA} is absent")


def read_sentences(reader, path):
    """`(words, tags)` of every instance a reader makes of `path`."""
    return [(instance["metadata"]["words"], instance["tags"].labels) for instance in reader.read(str(path))]


# The multilingual configs (`training_configs/multilingual/`, Lin et al. 2018) on the fixtures.
MULTILINGUAL = CONFIGS / "multilingual"
NED = FIXTURES / "conll" / "conll2002_ned_sample.txt"
ESP = FIXTURES / "conll" / "conll2002_esp_sample.txt"
MULTILINGUAL_DATA = {
    "dutch_ner.jsonnet": {
        "NL_NER_TRAIN": NED, "NL_NER_DEV": NED, "NL_NER_TEST": NED,
        "EN_NER_TRAIN": FIXTURES / "conll" / "conll2003_sample.txt",
        "NL_POS_TRAIN": FIXTURES / "ud" / "nl_lassysmall_sample.conllu",
        "EN_POS_TRAIN": FIXTURES / "ud" / "en_ewt_sample.conllu",
    },
    "spanish_ner.jsonnet": {
        "ES_NER_TRAIN": ESP, "ES_NER_DEV": ESP, "ES_NER_TEST": ESP,
        "EN_NER_TRAIN": FIXTURES / "conll" / "conll2003_sample.txt",
        "ES_POS_TRAIN": ESP,
    },
}
# the fixtures are a few sentences: with the paper's μ = ζ = 0.1 no auxiliary batch would be drawn
MULTILINGUAL_SMALL = {"trainer.num_epochs": 1, "data_loader.scheduler.batch_size": 1,
                      "data_loader.scheduler.other_task": 1.0, "data_loader.scheduler.other_language": 1.0}


def multilingual_ext_vars(config, ablation="all", encoder="lstm_s", decoder="crf", sample="all"):
    """The external variables of a multilingual config on the fixtures."""
    ext_vars = {key: str(path) for key, path in MULTILINGUAL_DATA[config].items()}
    ext_vars.update(TARGET_SAMPLE=sample, TARGET_SEED="1", ABLATION=ablation, ENCODER=encoder, DECODER=decoder,
                    NL_EMBEDDINGS="", ES_EMBEDDINGS="", EN_EMBEDDINGS=str(GLOVE), CUDA_DEVICE="-1")
    return ext_vars


def multilingual_params(config, ablation="all", encoder="lstm_s", decoder="crf", sample="all"):
    """A multilingual config on the fixtures, with small layers and one epoch."""
    from allennlp.common import Params

    hidden = "model.encoder.encoder.hidden_size" if encoder == "lstm_s" else "model.encoder.hidden_size"
    overrides = {**MULTILINGUAL_SMALL, hidden: 4}
    return Params.from_file(str(MULTILINGUAL / config), params_overrides=json.dumps(overrides),
                            ext_vars=multilingual_ext_vars(config, ablation, encoder, decoder, sample))


# the BIOES labels of the three NER fixtures together: a multilingual NER student's `ner_labels`
FIXTURE_NER_LABELS = ["B-MISC", "B-ORG", "B-PER", "E-MISC", "E-ORG", "E-PER", "I-MISC", "I-ORG", "I-PER", "O",
                      "S-LOC", "S-MISC", "S-ORG", "@@UNKNOWN@@"]


def train_multilingual_ner(run, languages, target, loss="none", base="", teachers=None, epochs=1) -> str:
    """`training_configs/distillation/multilingual_ner.jsonnet` on the English and Spanish fixtures
    (small layers, batches of 2), trained for `epochs` into the directory `run`; its archive."""
    from allennlp.commands.train import train_model
    from allennlp.common import Params

    conll03 = FIXTURES / "conll" / "conll2003_sample.txt"
    teachers = teachers or {}
    ext_vars = {"LANGUAGES": languages, "TARGET": target, "LOSS": loss, "CUDA_DEVICE": "-1", "INTERPOLATION": "",
                "BASE": base, "EN_TEACHER": teachers.get("en", ""), "ES_TEACHER": teachers.get("es", ""),
                "EN_TRAIN": str(conll03), "ES_TRAIN": str(ESP), "EN_DEV": str(conll03), "ES_DEV": str(ESP),
                "EN_TEST": str(conll03), "ES_TEST": str(ESP), "EN_EMBEDDINGS": str(GLOVE), "ES_EMBEDDINGS": ""}
    overrides = {"trainer.num_epochs": epochs, "data_loader.scheduler.batch_size": 2}
    if not base:  # a fine-tuned model keeps its base's sizes
        overrides["model.encoder.encoder.hidden_size"] = 4
    params = Params.from_file(str(CONFIGS / "distillation" / "multilingual_ner.jsonnet"),
                              params_overrides=json.dumps(overrides), ext_vars=ext_vars)
    train_model(params, str(run))
    return str(Path(run) / "model.tar.gz")


def dry_run_commands(script, root, *names, **env):
    """A run script's (`benchmarks/*_runs.sh`) dry run: `(commands, skipped, result)`, `commands`
    each run's name to its command split into words, `skipped` the finished runs' names."""
    result = subprocess.run(["bash", str(script), str(root), *names], env={**os.environ, "DRY_RUN": "1", **env},
                            capture_output=True, text=True)
    commands, skipped = {}, []
    for line in result.stdout.splitlines() if result.returncode == 0 else []:
        name, command = line.split(": ", 1)
        if command == "finished, skipped":
            skipped.append(name)
        else:
            commands[name] = shlex.split(command)
    return commands, skipped, result
