"""`scripts/main_job.py`: its decoder names and its training overrides (the job itself is `make main`)."""
import importlib.util
import json

from allennlp.common import Params

from tests.helpers import ROOT


def load_main_job():
    # a script of the checkout, not a module of the package
    spec = importlib.util.spec_from_file_location("main_job", ROOT / "scripts" / "main_job.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


main_job = load_main_job()


def test_the_decoder_choices_are_the_libs_decoder_names():
    assert main_job.decoder_names() == ["crf", "maxent", "mfvi1", "mfvi2"]


def test_the_overrides_change_the_epochs_and_keep_the_configs_trainer():
    def params(overrides: str = "") -> dict:
        config = str(main_job.CONFIG)
        return Params.from_file(config, params_overrides=overrides, ext_vars=main_job.ext_vars("crf")).as_dict()

    overridden, config = params(main_job.train_overrides(7)), params()
    assert overridden["trainer"]["optimizer"] == {"type": "sgd", "lr": 0.1}
    assert overridden["trainer"]["learning_rate_scheduler"]["type"] == "reduce_on_plateau"
    assert overridden["trainer"] == {**config["trainer"], "num_epochs": 7}
    assert overridden["evaluate_on_test"] is False
    assert {**overridden, "trainer": config["trainer"], "evaluate_on_test": True} == config
    assert json.loads(main_job.train_overrides(7)) == {"trainer.num_epochs": 7, "evaluate_on_test": False}
