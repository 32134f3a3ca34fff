"""
`benchmarks/distillation_runs.sh` in its dry run: one command per run, every config given every
variable it reads (its jsonnet evaluates), students pointed at their teacher's archive, and a run
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
    assert {"en_crf", "en_mfvi1", "es_crf", "nl_crf", "en_mfvi1_posterior", "en_mfvi1_top_wk"} <= set(commands)
    assert not any(tmp_path.joinpath(name).exists() for name in commands if name != "en_crf")  # nothing ran
    for name, command in commands.items():
        env = dict(item.split("=", 1) for item in command[1 : command.index("nice")])
        config = command[command.index("train") + 1]
        params = Params.from_file(config, ext_vars=env)
        assert command[command.index("-o") + 1] == json.dumps({"trainer.num_epochs": 3})
        assert ("--recover" in command) == (name == "en_crf"), name
        callbacks = [c["type"] for c in params["trainer"].get("callbacks", [])]
        if "_mfvi1_" in name:
            assert env["TEACHER"] == str(tmp_path / "en_crf" / "model.tar.gz")
            assert "ain_distillation" in callbacks and env["LOSS"] == name.split("en_mfvi1_")[1]
        else:
            assert "ain_distillation" not in callbacks
        assert env["GLOVE"].endswith("glove.6B.50d.subset.txt") == name.startswith("en_")


def test_runs_can_be_picked_by_name(tmp_path):
    assert list(dry_run(tmp_path, "nl_crf", "en_mfvi1")) == ["en_mfvi1", "nl_crf"]
