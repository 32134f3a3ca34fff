"""
`benchmarks/distillation_runs.sh` in its dry run: one command per run, every config given every
variable it reads (its jsonnet evaluates), students pointed at their teachers' archives, and a run
directory that holds a config.json continued with `--recover`.
"""
import json
import os
import shlex
import subprocess

from allennlp.common import Params

from tests.helpers import ROOT

SCRIPT = ROOT / "benchmarks" / "distillation_runs.sh"


def dry_run(root, *names, **env):
    result = subprocess.run(
        ["bash", str(SCRIPT), str(root), *names],
        env={**os.environ, "DRY_RUN": "1", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    commands = {}
    for line in result.stdout.splitlines():
        name, command = line.split(": ", 1)
        commands[name] = shlex.split(command)
    return commands


def test_every_run_has_a_command_whose_config_evaluates(tmp_path):
    (tmp_path / "en_crf").mkdir()
    (tmp_path / "en_crf" / "config.json").write_text("{}")
    commands = dry_run(tmp_path, EPOCHS="3")
    assert {"en_crf", "en_mfvi1", "es_crf", "nl_crf", "en_mfvi1_posterior", "ml_none", "ml_posterior", "zs_posterior"} <= set(commands)
    assert not any(tmp_path.joinpath(name).exists() for name in commands if name != "en_crf")  # nothing ran
    archive = {
        run: str(tmp_path / run / "model.tar.gz")
        for run in ("en_crf", "es_crf", "nl_crf", "en_ft", "es_ft", "nl_ft", "ml_none", "en_zs_ft", "es_zs_ft", "zs_none")
    }
    for name, command in commands.items():
        env = dict(item.split("=", 1) for item in command[1 : command.index("nice")])
        params = Params.from_file(command[command.index("train") + 1], ext_vars=env).as_dict()
        assert command[command.index("-o") + 1] == json.dumps({"trainer.num_epochs": 3})
        assert ("--recover" in command) == (name == "en_crf"), name
        callbacks = [c for c in params["trainer"].get("callbacks", []) if c["type"] == "ain_distillation"]
        fine_tuned_teacher = name in ("en_ft", "es_ft", "nl_ft", "en_zs_ft", "es_zs_ft")
        taught = not name.endswith(("_crf", "_none")) and name != "en_mfvi1" and not fine_tuned_teacher
        assert len(callbacks) == taught, name
        if fine_tuned_teacher:  # the student without KD, fine-tuned on one language: weights and vocabulary
            language = name[:2]
            assert env["LANGUAGES"] == env["TARGET"] == language and list(params["train_data_path"]) == [f"{language}_ner"]
            base = archive["zs_none" if "_zs_" in name else "ml_none"]
            assert params["model"] == {"type": "from_archive", "archive_file": base}
            assert params["vocabulary"] == {"type": "from_files", "directory": base}
        else:
            assert params["model"]["type"] != "from_archive", name
        if name.startswith("en_mfvi1_"):
            assert callbacks[0]["teachers"] == archive["en_crf"] and params["model"]["distillation"]["loss"] == env["LOSS"]
        elif taught:  # the multilingual students: each language its own teacher
            languages = env["LANGUAGES"].split(",")
            # the fine-tuned multilingual teachers (of ml_none, or of zs_none), or the CRFs
            kind = ("zs_ft" if name.startswith("zs_") else "ft") if name.endswith("_ft") else "crf"
            assert callbacks[0]["teachers"] == {language: archive[f"{language}_{kind}"] for language in languages}
            assert params["model"]["heads"]["ner"]["distillation"]["loss"] == env["LOSS"]
        if name in ("es_crf", "nl_crf"):
            assert env["GLOVE"] == "" and env["TRAIN_DATA"].endswith(("esp.train", "ned.train"))
        if name.startswith("en_") and not fine_tuned_teacher:
            assert env["GLOVE"].endswith("glove.6B.50d.subset.txt") and env["TRAIN_DATA"].endswith("eng.train")
    assert commands["zs_posterior"][commands["zs_posterior"].index("train") + 1].endswith("multilingual_ner.jsonnet")


def test_runs_can_be_picked_by_name(tmp_path):
    assert list(dry_run(tmp_path, "nl_crf", "en_mfvi1")) == ["en_mfvi1", "nl_crf"]


def test_a_finished_run_is_skipped(tmp_path):
    (tmp_path / "nl_crf").mkdir()
    (tmp_path / "nl_crf" / "model.tar.gz").write_bytes(b"")
    result = subprocess.run(["bash", str(SCRIPT), str(tmp_path), "nl_crf", "es_crf"], env={**os.environ, "DRY_RUN": "1"},
                            capture_output=True, text=True, check=True)
    assert result.stdout.splitlines()[1] == "nl_crf: finished, skipped"
    assert result.stdout.startswith("es_crf: env ")


def test_another_seed_is_its_own_run_directory_with_the_same_teachers(tmp_path):
    commands = dry_run(tmp_path, "ml_none", "ml_posterior_ft", EPOCHS="8", SEED="2")
    assert sorted(commands) == ["ml_none_s2", "ml_posterior_ft_s2"]
    command = commands["ml_posterior_ft_s2"]
    assert command[command.index("-s") + 1] == str(tmp_path / "ml_posterior_ft_s2")
    seeds = {"random_seed": 2, "numpy_seed": 2, "pytorch_seed": 2}
    assert json.loads(command[command.index("-o") + 1]) == {"trainer.num_epochs": 8, **seeds}
    env = dict(item.split("=", 1) for item in command[1 : command.index("nice")])
    assert env["ES_TEACHER"] == str(tmp_path / "es_ft" / "model.tar.gz")  # the teachers keep their names
    assert json.loads(dry_run(tmp_path, "ml_none", SEED="3")["ml_none_s3"][-4]) == {"random_seed": 3, "numpy_seed": 3, "pytorch_seed": 3}
