"""Where the tests find the repository, its fixtures and the shared real data."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SHARED_DATA = (ROOT.parent / "shared" / "data").resolve()

import pytest  # noqa: E402

needs_data = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"the shared data folder {SHARED_DATA} is absent")


def read_sentences(reader, path):
    """`(words, tags)` of every instance a reader makes of `path`."""
    return [(instance["metadata"]["words"], instance["tags"].labels) for instance in reader.read(str(path))]
