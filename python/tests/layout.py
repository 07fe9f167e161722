"""Where the tests find the repository and the DLMC matrices."""

from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
DLMC = REPOSITORY.parent / "shared" / "dlmc"
