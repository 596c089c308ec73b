"""Where test data lives. The reference files are a copy of ../shared/reference (see its
README.md for their sources and licences), kept in the repository so the suite is self-contained."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "tests" / "data" / "reference"
WEBHOOKS = REFERENCE / "webhooks"
