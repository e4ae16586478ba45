"""A batch job as stored: who asked, where, what, and how far it got (pure values)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

PENDING = "pending"  # estimate shown, waiting for the confirm button
SUBMITTING = "submitting"
PROCESSING = "processing"
CANCELING = "canceling"
DONE = "done"
CANCELED = "canceled"
FAILED = "failed"
DISCARDED = "discarded"
ACTIVE = frozenset({PROCESSING, CANCELING})
FINAL = frozenset({DONE, CANCELED, FAILED, DISCARDED})
RETRYABLE = frozenset({DONE, CANCELED, FAILED})
# While SUBMITTING, `extra` names the replica submitting (a token) and how long it may take before
# another replica presumes it dead and finishes the submission (a time.time() deadline).
SUBMITTER = "submitter"
LEASE_UNTIL = "lease_until"


@dataclass(frozen=True)
class Job:
    """One /claude-batch job. batch_ids grows when errored rows are retried (`round` counts)."""

    id: str
    team: str
    channel: str
    thread_ts: str
    owner: str
    model: str
    template: str
    filename: str
    rows: int
    state: str = PENDING
    batch_ids: tuple[str, ...] = ()
    round: int = 0
    status_ts: str = ""
    created_at: float = 0.0
    next_check_at: float = 0.0
    check_interval: float = 0.0
    done_count: int = 0
    note: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        """For Redis."""
        data = asdict(self)
        data["batch_ids"] = list(self.batch_ids)
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Job:
        """Back from to_json() (unknown fields are dropped, so older replicas can read newer)."""
        data: dict[str, Any] = json.loads(raw)
        names = set(cls.__dataclass_fields__)
        values = {k: v for k, v in data.items() if k in names}
        values["batch_ids"] = tuple(values.get("batch_ids", ()))
        return cls(**values)

    def moved(self, **changes: Any) -> Job:
        """A copy with some fields changed."""
        return replace(self, **changes)

    @property
    def lease_until(self) -> float:
        """Until when the replica submitting the job is presumed alive (0: no lease)."""
        return float(self.extra.get(LEASE_UNTIL) or 0.0)

    def may_control(self, user: str, admins: frozenset[str]) -> bool:
        """The owner and the bot's admins may confirm, cancel and retry."""
        return user == self.owner or user in admins


def next_interval(current: float, *, first: float, most: float) -> float:
    """Backoff between two checks of a running batch: first, then 1.5 times more, capped."""
    return first if current <= 0 else min(most, current * 1.5)


def progress_text(job: Job, done: int, total: int) -> str:
    """The status message's line while a job runs."""
    verb = "Canceling" if job.state == CANCELING else "Running"
    return f"{verb} batch on `{job.filename}` with {job.model}: *{done:,} / {total:,}* done."
