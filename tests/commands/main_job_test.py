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


def test_the_overrides_change_the_epochs_and_the_optimizer_and_keep_the_rest_of_the_trainer():
    def params(overrides: str = "") -> dict:
        config = str(main_job.CONFIG)
        return Params.from_file(config, params_overrides=overrides, ext_vars=main_job.ext_vars("crf")).as_dict()

    overridden, config = params(main_job.train_overrides(7)), params()
    assert config["trainer"]["optimizer"] == {"type": "sgd", "lr": 0.1}
    assert overridden["trainer"]["optimizer"] == {"type": "adam", "lr": 0.002}
    assert overridden["trainer"]["learning_rate_scheduler"]["type"] == "reduce_on_plateau"
    assert overridden["trainer"] == {**config["trainer"], "num_epochs": 7, "optimizer": {"type": "adam", "lr": 0.002}}
    assert overridden["evaluate_on_test"] is False
    assert {**overridden, "trainer": config["trainer"], "evaluate_on_test": True} == config


def test_the_glove_slice_covers_the_sample_and_the_demo_sentence():
    import gzip

    words = {line.split(" ", 1)[0] for line in gzip.open(main_job.GLOVE, "rt", encoding="utf-8")}
    assert len(words) == 7251
    assert {"the", "quick", "brown", "fox", "jumped", "lazy", "dog", "boston"} <= words
    assert main_job.ext_vars("crf")["GLOVE"] == str(main_job.GLOVE)
    assert (main_job.GLOVE.parent / "README.md").read_text().count("Public Domain Dedication and License") == 1
