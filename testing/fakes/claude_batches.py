"""The Message Batches API of the fake Claude: create, retrieve, results (JSONL, shuffled),
cancel — under /v1/messages/batches.

Checked against the Claude docs (API reference "Message Batches", guide "Batch processing", as
stored for the `search` tool): a batch holds up to 100,000 requests or 256 MB; each request is
{custom_id, params}, custom_id unique and 1-64 of [a-zA-Z0-9_-], params a Messages request
(validated here with the Messages endpoint's own validator); processing_status goes
in_progress -> (canceling ->) ended; results_url is null until the batch ends; results arrive in
any order, each {custom_id, result: {type: succeeded|errored|canceled|expired, ...}}. The
lifecycle is driven by the test: `processing_seconds` (progress grows linearly with time) or
`hold()` / `release()`. Error wording is made up here (no public sample found).
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from testing.fakes.claude_errors import ApiError, invalid, new_id
from testing.fakes.claude_prompt import total_tokens
from testing.fakes.claude_validate import validate_request

if TYPE_CHECKING:
    from testing.fakes.claude_server import FakeClaude

BATCHES_PATH = "/v1/messages/batches"
MAX_REQUESTS = 100_000
MAX_BATCH_BYTES = 256 * 1024 * 1024
CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _rfc3339(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def default_answer(custom_id: str, params: dict[str, Any]) -> str:
    """The fake's answer to a row: names the row and quotes the prompt's start."""
    content = params["messages"][-1]["content"]
    text = content if isinstance(content, str) else json.dumps(content)
    return f"Answer {custom_id}: {text[:60]}"


@dataclass
class FakeBatch:
    """One batch and its requests."""

    id: str
    requests: list[dict[str, Any]]
    created: float
    wall_created: float
    canceled_at: float | None = None
    outcome: dict[str, str] = field(default_factory=dict)  # custom_id -> final status


class BatchService:
    """The batches, and the knobs tests turn."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.batches: dict[str, FakeBatch] = {}
        self.processing_seconds = 0.0
        self.held = False
        self.errored_ids: set[str] = set()  # rows answered with an overloaded_error
        self.expired_ids: set[str] = set()
        self.answer: Callable[[str, dict[str, Any]], str] = default_answer
        self.results_served: list[str] = []

    def hold(self) -> None:
        """Batches make no progress until release()."""
        self.held = True

    def release(self) -> None:
        """Batches progress (and end) again."""
        self.held = False
        for batch in self.batches.values():
            batch.created = self.clock() - self.processing_seconds

    def _done(self, batch: FakeBatch) -> int:
        total = len(batch.requests)
        if self.held:
            return 0
        if self.processing_seconds <= 0:
            return total
        share = (self.clock() - batch.created) / self.processing_seconds
        return min(total, int(total * max(0.0, share)))

    def _status(self, batch: FakeBatch, custom_id: str, index: int, done: int) -> str:
        """How a processed request ends: scripted as expired or errored, else succeeded."""
        if custom_id in self.expired_ids:
            return "expired"
        if custom_id in self.errored_ids:
            return "errored"
        return "succeeded"

    def view(self, batch: FakeBatch, base_url: str) -> dict[str, Any]:
        """The MessageBatch object."""
        done = self._done(batch)
        ended = done == len(batch.requests) or bool(batch.outcome)
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        for index, request in enumerate(batch.requests):
            cid = request["custom_id"]
            status = batch.outcome.get(cid) or (
                self._status(batch, cid, index, done) if index < done else "processing"
            )
            counts[status] += 1
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": counts,
            "ended_at": _rfc3339(time.time()) if ended else None,
            "created_at": _rfc3339(batch.wall_created),
            "expires_at": _rfc3339(batch.wall_created + 86_400),
            "archived_at": None,
            "cancel_initiated_at": (
                _rfc3339(time.time()) if batch.canceled_at is not None else None
            ),
            "results_url": f"{base_url}{BATCHES_PATH}/{batch.id}/results" if ended else None,
        }

    def _settle(self, batch: FakeBatch, done: int) -> None:
        for index, request in enumerate(batch.requests):
            cid = request["custom_id"]
            batch.outcome[cid] = (
                self._status(batch, cid, index, done) if index < done else ("canceled")
            )

    def create(self, body: Any, known_models: set[str] | None) -> FakeBatch:
        """Validate and store a new batch."""
        requests = validate_batch(body, known_models)
        batch = FakeBatch(new_id("msgbatch_"), requests, self.clock(), time.time())
        self.batches[batch.id] = batch
        return batch

    def get(self, batch_id: str) -> FakeBatch:
        """The batch, or the API's 404."""
        batch = self.batches.get(batch_id)
        if batch is None:
            raise ApiError(404, "not_found_error", f"Message batch {batch_id} not found.")
        return batch

    def results(self, batch: FakeBatch, base_url: str) -> bytes:
        """The JSONL results, in random order; 400 before the batch ends."""
        view = self.view(batch, base_url)
        if view["processing_status"] != "ended":
            raise invalid(f"Message batch {batch.id} has not finished processing.")
        done = self._done(batch)
        lines = []
        for index, request in enumerate(batch.requests):
            cid = request["custom_id"]
            status = batch.outcome.get(cid) or self._status(batch, cid, index, done)
            lines.append(json.dumps({"custom_id": cid, "result": self._result(status, request)}))
        random.shuffle(lines)
        self.results_served.append(batch.id)
        return ("\n".join(lines) + "\n").encode()

    def _result(self, status: str, request: dict[str, Any]) -> dict[str, Any]:
        if status == "errored":
            error = {"type": "overloaded_error", "message": "Overloaded"}
            return {"type": "errored", "error": {"type": "error", "error": error}}
        if status != "succeeded":
            return {"type": status}
        params = request["params"]
        text = self.answer(request["custom_id"], params)
        usage = {
            "input_tokens": total_tokens(params),
            "output_tokens": max(1, len(text) // 4),
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        }
        message = {
            "id": new_id("msg_"),
            "type": "message",
            "role": "assistant",
            "model": params["model"],
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": usage,
        }
        return {"type": "succeeded", "message": message}

    def cancel(self, batch: FakeBatch) -> None:
        """Cancel: requests not yet processed end as canceled (the batch ends at once)."""
        if batch.canceled_at is None and not batch.outcome:
            batch.canceled_at = self.clock()
            self._settle(batch, self._done(batch))


def validate_batch(body: Any, known_models: set[str] | None) -> list[dict[str, Any]]:
    """The request body of a batch create, checked like the real API."""
    if not isinstance(body, dict):
        raise invalid("Input should be a valid dictionary")
    for key in body:
        if key != "requests":
            raise invalid(f"{key}: Extra inputs are not permitted")
    requests = body.get("requests")
    if not isinstance(requests, list):
        raise invalid("requests: Field required")
    if not 1 <= len(requests) <= MAX_REQUESTS:
        raise invalid(f"requests: must have between 1 and {MAX_REQUESTS} items")
    seen: set[str] = set()
    for index, request in enumerate(requests):
        where = f"requests.{index}"
        if not isinstance(request, dict) or set(request) != {"custom_id", "params"}:
            raise invalid(f"{where}: must have exactly `custom_id` and `params`")
        custom_id = request["custom_id"]
        if not isinstance(custom_id, str) or not CUSTOM_ID.match(custom_id):
            raise invalid(
                f"{where}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
            )
        if custom_id in seen:
            raise invalid(f"{where}.custom_id: Duplicate custom_id {custom_id!r}")
        seen.add(custom_id)
        params = request["params"]
        if isinstance(params, dict) and params.get("stream"):
            raise invalid(f"{where}.params.stream: Streaming is not supported in batches")
        try:
            validate_request(params, counting=False, known_models=known_models)
        except ApiError as err:
            raise ApiError(err.status, err.error_type, f"{where}.params: {err.message}") from None
    return requests


def register(app: web.Application, fake: FakeClaude) -> None:
    """Add the batch routes to the fake's app (before its catch-all)."""
    service = fake.batches

    async def call(request: web.Request, action: Callable[[], Any]) -> web.StreamResponse:
        at, request_id, body = time.monotonic(), new_id("req_"), None
        try:
            fake._check_headers(request)
            if request.method == "POST" and request.path == BATCHES_PATH:
                if (request.content_length or 0) > MAX_BATCH_BYTES:
                    raise ApiError(413, "request_too_large", "Batch exceeds 256 MB.")
                body = await fake._read_json(request)
            payload = action() if body is None else action(body)  # type: ignore[call-arg]
        except ApiError as err:
            fake._record(request, body, err.status, at=at, request_id=request_id)
            return fake._error(err, request_id)
        fake._record(request, body or {}, 200, at=at, request_id=request_id)
        headers = {"request-id": request_id}
        if isinstance(payload, bytes):
            return web.Response(body=payload, content_type="application/binary", headers=headers)
        return web.json_response(payload, headers=headers)

    def batch(request: web.Request) -> FakeBatch:
        return service.get(request.match_info["batch_id"])

    async def create(request: web.Request) -> web.StreamResponse:
        return await call(
            request, lambda body: service.view(service.create(body, fake.known_models), fake.url)
        )

    async def retrieve(request: web.Request) -> web.StreamResponse:
        return await call(request, lambda: service.view(batch(request), fake.url))

    async def results(request: web.Request) -> web.StreamResponse:
        return await call(request, lambda: service.results(batch(request), fake.url))

    async def cancel(request: web.Request) -> web.StreamResponse:
        def run() -> dict[str, Any]:
            found = batch(request)
            service.cancel(found)
            view = service.view(found, fake.url)
            if found.canceled_at is not None:
                view.update(processing_status="canceling", results_url=None, ended_at=None)
            return view

        return await call(request, run)

    app.router.add_post(BATCHES_PATH, fake._tracked(create))
    app.router.add_get(BATCHES_PATH + "/{batch_id}", fake._tracked(retrieve))
    app.router.add_get(BATCHES_PATH + "/{batch_id}/results", fake._tracked(results))
    app.router.add_post(BATCHES_PATH + "/{batch_id}/cancel", fake._tracked(cancel))
