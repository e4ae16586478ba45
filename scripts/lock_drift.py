"""Print the packages whose installed version differs from uv.lock's (scripts/test --latest).

stdin: `uv export --no-hashes` of the lock; argv[1]: `uv pip freeze` of the venv.
"""

from __future__ import annotations

import re
import sys

PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;]+)")


def pins(text: str) -> dict[str, str]:
    """name -> version for each `name==version` line (names normalised as PEP 503 says)."""
    found = {}
    for line in text.splitlines():
        match = PIN.match(line.strip())
        if match:
            found[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2]
    return found


def main() -> None:
    """Compare and print one line per changed package, or that nothing changed."""
    locked, installed = pins(sys.stdin.read()), pins(sys.argv[1])
    changed = [
        f"{name}: {locked[name]} -> {version}"
        for name, version in sorted(installed.items())
        if name in locked and locked[name] != version
    ]
    new = [
        f"{name}: (not locked) -> {v}"
        for name, v in sorted(installed.items())
        if name not in locked
    ]
    print("\n".join(changed + new) or "nothing: the lock is current")


if __name__ == "__main__":
    main()
