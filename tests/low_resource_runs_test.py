"""
`benchmarks/low_resource_runs.sh` in its dry run: a run's name becomes its config's variables
(target, sample size, ablation, seed, epoch cap), every config evaluates to the datasets the
ablation names, a finished run is skipped and a begun one continued with `--recover`.
"""
import json

import pytest
from allennlp.common import Params

from tests.helpers import ROOT, dry_run_commands

SCRIPT = ROOT / "benchmarks" / "low_resource_runs.sh"


def dry_run(root, *names):
    commands, skipped, result = dry_run_commands(SCRIPT, root, *names)
    assert result.returncode == 0, result.stderr
    return commands, skipped


def test_a_name_is_a_run_whose_config_evaluates(tmp_path):
    (tmp_path / "nl_200_all_s2").mkdir()
    (tmp_path / "nl_200_all_s2" / "config.json").write_text("{}")
    (tmp_path / "es_100_single_s1").mkdir()
    (tmp_path / "es_100_single_s1" / "model.tar.gz").write_text("")
    names = ["nl_200_all_s2", "nl_100_single_s1", "es_200_cross_task_s1", "es_all_cross_lingual_s3_e20", "es_100_single_s1"]
    commands, skipped = dry_run(tmp_path, *names)
    assert skipped == ["es_100_single_s1"] and list(commands) == names[:4]
    expected = {  # name -> (target, training datasets, sample, seed, epoch override)
        "nl_200_all_s2": ("nl_ner", {"nl_ner", "en_ner", "nl_pos", "en_pos"}, 200, 2, {}),
        "nl_100_single_s1": ("nl_ner", {"nl_ner"}, 100, 1, {}),
        "es_200_cross_task_s1": ("es_ner", {"es_ner", "es_pos"}, 200, 1, {}),
        "es_all_cross_lingual_s3_e20": ("es_ner", {"es_ner", "en_ner"}, None, 3, {"trainer.num_epochs": 20}),
    }
    for name, command in commands.items():
        target, datasets, sample, seed, overrides = expected[name]
        env = dict(item.split("=", 1) for item in command[1 : command.index("nice")])
        assert env["OMP_NUM_THREADS"] == "1" and env[f"{target[:2].upper()}_EMBEDDINGS"] == ""
        params = Params.from_file(command[command.index("train") + 1], ext_vars=env).as_dict()
        readers = params["dataset_reader"]["readers"]
        assert set(readers) == datasets and params["data_loader"]["scheduler"]["target"] == target
        assert readers[target].get("sample") == sample and params["random_seed"] == seed
        assert params["trainer"]["num_epochs"] == 150
        assert json.loads(command[command.index("-o") + 1]) == overrides
        assert ("--recover" in command) == (name == "nl_200_all_s2")
    assert not (tmp_path / "nl_100_single_s1").exists()  # nothing ran


@pytest.mark.parametrize("name", ["de_200_all_s1", "nl_200_both_s1", "nl_200_all", "nl_200_all_s1_e"])
def test_a_name_that_is_not_a_run_is_refused(tmp_path, name):
    _, _, result = dry_run_commands(SCRIPT, tmp_path, name)
    assert result.returncode == 2 and f"{name}: not <nl|es>_<size|all>" in result.stderr
