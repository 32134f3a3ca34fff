"""Where the tests find the repository, its fixtures and the shared real data."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SHARED_DATA = (ROOT.parent / "shared" / "data").resolve()
