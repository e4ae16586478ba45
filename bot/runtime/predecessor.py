"""What a starting process can tell about the processes before it on this host and data dir.

Each running process keeps a small file, `<data_dir>/instances/<instance id>.json`, saying which
process it is (host, boot, pid namespace, pid and the pid's start time). A clean shutdown removes
it. At start, a file whose process is provably gone (same host, boot and pid namespace, and its
pid no longer runs, or runs another program) belongs to a process that was killed: its answers
in progress can be marked at once instead of after its Redis heartbeat expires. A file from
another host or container says nothing and is left alone (its heartbeat decides).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path

import structlog

log = structlog.get_logger("bot.runtime")

INSTANCES_DIR = "instances"


@dataclass(frozen=True)
class ProcessMark:
    """What identifies a running process on this machine ("" where the system doesn't say)."""

    host: str
    boot_id: str
    pid_namespace: str
    pid: int
    started: str  # the pid's start time since boot, in clock ticks (/proc/<pid>/stat)


def this_process() -> ProcessMark:
    """The mark of the calling process."""
    pid = os.getpid()
    return ProcessMark(
        host=socket.gethostname(),
        boot_id=_read("/proc/sys/kernel/random/boot_id"),
        pid_namespace=_link("/proc/self/ns/pid"),
        pid=pid,
        started=start_time(pid),
    )


def is_gone(mark: ProcessMark, here: ProcessMark) -> bool:
    """True only when the marked process has provably ended (seen from `here`)."""
    if (mark.host, mark.pid_namespace) != (here.host, here.pid_namespace):
        return False  # another machine or container: its pids mean nothing here
    if mark.boot_id and here.boot_id and mark.boot_id != here.boot_id:
        return True  # the machine rebooted since
    if mark.pid == here.pid:
        return mark.started != here.started or not mark.started  # our pid, reused
    if not _pid_exists(mark.pid):
        return True
    return bool(mark.started) and start_time(mark.pid) not in ("", mark.started)


class InstanceFiles:
    """The per-process files under `<data_dir>/instances/`."""

    def __init__(self, data_dir: Path) -> None:
        self.directory = data_dir / INSTANCES_DIR

    def register(self, instance: str) -> None:
        """Say that this process runs as `instance`."""
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{instance}.json"
        path.write_text(json.dumps(asdict(this_process())))

    def remove(self, instance: str) -> None:
        """This process is shutting down cleanly."""
        with contextlib.suppress(OSError):
            (self.directory / f"{instance}.json").unlink()

    def dead(self) -> list[str]:
        """Instance ids of processes on this host and data dir that are gone."""
        here = this_process()
        gone: list[str] = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                mark = ProcessMark(**json.loads(path.read_text()))
            except (OSError, ValueError, TypeError):
                continue
            if is_gone(mark, here):
                gone.append(path.stem)
        return gone


def start_time(pid: int) -> str:
    """The process's start time since boot in clock ticks (Linux), or "" when unknown."""
    stat = _read(f"/proc/{pid}/stat")
    if not stat:
        return ""
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else ""  # field 22 of stat; 20th after "(comm)"


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def _link(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""
