"""Where the tests find the repository and the team's shared/ folder (beside the repository)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CSB_SHARED_DIR", ROOT.parent / "shared"))
