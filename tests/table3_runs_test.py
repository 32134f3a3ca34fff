"""
`benchmarks/table3_runs.sh` in its dry run: each run of its table becomes an `allennlp train` of
the Table 3 config with that run's tasks, encoder and seed, and the setting's overrides (epochs,
batch, hidden size); a finished run is skipped, a begun one continued with `--recover`, a name not
in the table refused.
"""
import json

from allennlp.common import Params

from tests.helpers import ROOT, dry_run_commands

SCRIPT = ROOT / "benchmarks" / "table3_runs.sh"


def test_a_run_is_its_tasks_encoder_seed_and_setting(tmp_path):
    (tmp_path / "sclstm_s2").mkdir()
    (tmp_path / "sclstm_s2" / "config.json").write_text("{}")
    (tmp_path / "single_pos_s1").mkdir()
    (tmp_path / "single_pos_s1" / "model.tar.gz").write_text("")
    commands, skipped, result = dry_run_commands(SCRIPT, tmp_path, "single_ner_s2", "lstms_s1", "sclstm_s2", "single_pos_s1",
                                                 EPOCHS="8", BATCH="32", HIDDEN="300")
    assert result.returncode == 0, result.stderr
    # the table's order, whatever the order of the names
    assert skipped == ["single_pos_s1"] and list(commands) == ["sclstm_s2", "lstms_s1", "single_ner_s2"]
    expected = {"sclstm_s2": ({"pos", "chunk", "ner"}, "ain_sc_lstm", 2),
                "lstms_s1": ({"pos", "chunk", "ner"}, "ain_shared", 1),
                "single_ner_s2": ({"ner"}, "ain_shared", 2)}
    for name, command in commands.items():
        tasks, encoder, seed = expected[name]
        env = dict(item.split("=", 1) for item in command[1 : command.index("nice")])
        assert env["OMP_NUM_THREADS"] == "1" and env["DECODER"] == "maxent"
        overrides = json.loads(command[command.index("-o") + 1])
        params = Params.from_file(command[command.index("train") + 1], ext_vars=env,
                                  params_overrides=overrides).as_dict()
        assert set(params["dataset_reader"]["readers"]) == tasks and params["model"]["encoder"]["type"] == encoder
        assert params["random_seed"] == params["pytorch_seed"] == seed and params["trainer"]["num_epochs"] == 8
        assert params["data_loader"]["scheduler"]["batch_size"] == 32
        hidden = params["model"]["encoder"]["encoder" if encoder == "ain_shared" else "hidden_size"]
        assert (hidden["hidden_size"] if encoder == "ain_shared" else hidden) == 300
        assert ("--recover" in command) == (name == "sclstm_s2")
    assert not (tmp_path / "single_ner_s2").exists()  # nothing ran


def test_a_name_not_in_the_table_is_refused(tmp_path):
    _, _, result = dry_run_commands(SCRIPT, tmp_path, "sclstm_s9")
    assert result.returncode == 2 and "sclstm_s9: not a run of this script" in result.stderr


def test_the_sc_lstm_cnn_runs_take_characters_and_the_decoder_named(tmp_path):
    commands, _, result = dry_run_commands(SCRIPT, tmp_path, "sclstmcnn_s2", DECODER="crf", HIDDEN="50")
    assert result.returncode == 0, result.stderr
    command = commands["sclstmcnn_s2"]
    env = dict(item.split("=", 1) for item in command[1 : command.index("nice")])
    params = Params.from_file(command[command.index("train") + 1], ext_vars=env,
                              params_overrides=json.loads(command[command.index("-o") + 1])).as_dict()
    assert "token_characters" in params["model"]["text_field_embedder"]["token_embedders"]
    assert params["model"]["encoder"]["type"] == "ain_sc_lstm" and params["model"]["encoder"]["hidden_size"] == 50
    assert {head["decoder"]["type"] for head in params["model"]["heads"].values()} == {"crf"}
    assert params["random_seed"] == 2
