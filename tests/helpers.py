"""Shared test helpers: where the repository, its fixtures and the real data are, and small readers."""
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
CONFIGS = ROOT / "training_configs"
# The real corpora (research licences, never copied into the repository). AIN_SHARED_DATA names the
# folder; by default it is the `shared/data` folder beside the checkout.
SHARED_DATA = Path(os.environ.get("AIN_SHARED_DATA", ROOT.parent / "shared" / "data")).resolve()

needs_data = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"the shared data folder {SHARED_DATA} is absent")


def read_sentences(reader, path):
    """`(words, tags)` of every instance a reader makes of `path`."""
    return [(instance["metadata"]["words"], instance["tags"].labels) for instance in reader.read(str(path))]
