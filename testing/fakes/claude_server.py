"""FakeClaude: a strict loopback fake of Anthropic's Claude Messages API, for the official SDK.

    async with FakeClaude() as fake:
        fake.enqueue(TextReply("Hi"), HttpError(529, "overloaded_error"))
        client = AsyncAnthropic(base_url=fake.url, api_key=fake.api_key)

Endpoints: POST /v1/messages (SSE when stream is true, else a JSON Message), POST
/v1/messages/count_tokens, GET /v1/models, and the Files API (POST /v1/files, GET and DELETE
/v1/files/{id}, GET /v1/files/{id}/content; claude_files.py). Server tools and tool turns:
claude_script_tools.py (what to enqueue), claude_tool_*.py (how they are checked and run).
Requests are validated like the real API (see claude_validate*.py, and claude_media.py for image
and document contents), per-model rules live in claude_models.MODEL_RULES, usage comes from the
prompt cache model (claude_cache.PromptCacheModel).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from testing.fakes.claude_batches import BatchService
from testing.fakes.claude_batches import register as register_batches
from testing.fakes.claude_cache import PromptCacheModel
from testing.fakes.claude_errors import (
    DEFAULT_ERROR_MESSAGES,
    STATUS_OF_ERROR_TYPE,
    ApiError,
    error_body,
    invalid,
    new_id,
)
from testing.fakes.claude_files import FileStore, StoredFile, betas_of
from testing.fakes.claude_files_routes import register as register_files
from testing.fakes.claude_media import validate_media
from testing.fakes.claude_models import MODEL_RULES, is_known
from testing.fakes.claude_prompt import breakpoints, layout, total_tokens
from testing.fakes.claude_script import (
    HttpError,
    MidStreamError,
    RecordedRequest,
    Responder,
    Scripted,
    ScriptQueue,
    Stall,
    TextReply,
    ToolUseReply,
    echo_reply,
)
from testing.fakes.claude_sse import Rendered, Renderer, Step
from testing.fakes.claude_tool_render import ToolContext, render_item
from testing.fakes.claude_tool_turns import ScriptError, ToolState
from testing.fakes.claude_validate import request_tools, validate_request

__all__ = [
    "FakeClaude",
    "HttpError",
    "MidStreamError",
    "PromptCacheModel",
    "RecordedRequest",
    "Scripted",
    "Stall",
    "TextReply",
    "ToolUseReply",
]

MESSAGES_PATH = "/v1/messages"
COUNT_TOKENS_PATH = "/v1/messages/count_tokens"
MODELS_PATH = "/v1/models"
MAX_REQUEST_BYTES = 32 * 1024 * 1024  # the Messages API's request size limit

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _http_failure(rendered: Rendered) -> ApiError | None:
    """A mid-stream error scripted for a non-streamed call becomes its HTTP error."""
    if rendered.error is None:
        return None
    kind, message = rendered.error["error"]["type"], rendered.error["error"]["message"]
    return ApiError(STATUS_OF_ERROR_TYPE.get(kind, 500), kind, message)


def _retry_after(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else repr(float(seconds))


class FakeClaude:
    """The fake server. `start()` binds 127.0.0.1 on a free port; `url` is then set."""

    def __init__(
        self,
        *,
        api_key: str = "sk-ant-fake-key",
        default: Responder | None = None,
        known_models: set[str] | None = None,
        clock: Callable[[], float] | None = None,
        record_streams: bool = False,
    ) -> None:
        self.api_key = api_key
        self.known_models = known_models
        self.url = ""
        self.cache = PromptCacheModel(clock or time.monotonic)
        self.files = FileStore()
        self.batches = BatchService(clock or time.monotonic)
        self.requests: list[RecordedRequest] = []
        self.stream_events_sent: list[tuple[float, str]] = []
        # opt-in (record_streams=True): the same, per streamed request, keyed by its request-id
        self.record_streams = record_streams
        self.streams_sent: dict[str, list[tuple[float, str]]] = {}
        self._default: Responder = default or echo_reply
        # When set, streamed answers wait for it before their first byte (a test holds answers
        # "in flight" for as long as it needs, without timing).
        self.hold_streams: asyncio.Event | None = None
        # The most input tokens a request may have (None: the model's context window), so a
        # test can reach "prompt is too long" without a million tokens.
        self.context_limit: int | None = None
        self._script = ScriptQueue()
        self._runner: web.AppRunner | None = None
        self._recorded = asyncio.Event()
        # server tools: deferred calls, paused turns, containers; scripts the API could not answer
        self.tool_state = ToolState()
        self.script_errors: list[str] = []
        self._handlers: set[asyncio.Task[Any]] = set()

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Serve on 127.0.0.1, a free port."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post(MESSAGES_PATH, self._tracked(self._messages))
        app.router.add_post(COUNT_TOKENS_PATH, self._tracked(self._count_tokens))
        app.router.add_get(MODELS_PATH, self._tracked(self._models))
        register_files(app, self)
        register_batches(app, self)
        app.router.add_route("*", "/{tail:.*}", self._tracked(self._not_found))
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        self._runner, self.url = runner, f"http://{host}:{port}"

    async def stop(self) -> None:
        """Cut open streams (stalls included) and stop serving."""
        for task in list(self._handlers):
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeClaude:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- scripting and inspection ----------------------------------------------------------

    def enqueue(self, *items: Scripted, model: str | None = None) -> None:
        """Queue answers (FIFO). With `model`, only requests for that model take them (first)."""
        self._script.push(items, model)

    def message_requests(self) -> list[RecordedRequest]:
        """The POST /v1/messages requests, in arrival order."""
        return [r for r in self.requests if r.path == MESSAGES_PATH and r.method == "POST"]

    async def wait_for_requests(
        self,
        n: int,
        timeout: float = 10.0,
        *,
        path: str | None = MESSAGES_PATH,
    ) -> None:
        """Wait until at least n requests to `path` are recorded: by default the Messages API
        calls (the bot's start-up check GET /v1/models is not one); path=None counts every one."""

        def count() -> int:
            return sum(1 for r in self.requests if path is None or r.path == path)

        async with asyncio.timeout(timeout):
            while count() < n:
                self._recorded.clear()
                await self._recorded.wait()

    # --- plumbing --------------------------------------------------------------------------

    def _tracked(self, handler: Handler) -> Handler:
        """The handler, its task kept so that stop() can cut it."""

        async def run(request: web.Request) -> web.StreamResponse:
            task = asyncio.current_task()
            if task is not None:
                self._handlers.add(task)
            try:
                return await handler(request)
            finally:
                if task is not None:
                    self._handlers.discard(task)

        return run

    def _record(self, request: web.Request, body: Any, status: int, **extra: Any) -> None:
        self.requests.append(
            RecordedRequest(
                path=request.path,
                headers={k.lower(): v for k, v in request.headers.items()},
                body=body if isinstance(body, dict) else {},
                at=extra.pop("at"),
                status=status,
                usage=extra.pop("usage", None),
                method=request.method,
                request_id=extra.pop("request_id"),
            )
        )
        self._recorded.set()

    def _error(
        self, err: ApiError, request_id: str, retry_after: float | None = None
    ) -> web.Response:
        headers = {"request-id": request_id}
        if err.status == 400:
            headers["x-should-retry"] = "false"
        if retry_after is not None:
            headers["retry-after"] = _retry_after(retry_after)
        return web.Response(
            status=err.status,
            body=error_body(err.error_type, err.message, request_id, err.details),
            content_type="application/json",
            headers=headers,
        )

    def _check_headers(self, request: web.Request) -> None:
        key = request.headers.get("x-api-key")
        bearer = request.headers.get("authorization")
        if key is None and bearer is None:
            raise ApiError(401, "authentication_error", "x-api-key header is required")
        if key != self.api_key and bearer != f"Bearer {self.api_key}":
            message = "invalid x-api-key" if key is not None else "Invalid bearer token"
            raise ApiError(401, "authentication_error", message)
        if not request.headers.get("anthropic-version"):
            raise invalid("anthropic-version: header is required")

    async def _read_json(self, request: web.Request) -> Any:
        if "application/json" not in request.headers.get("content-type", ""):
            raise invalid("Content-Type must be application/json")
        if (request.content_length or 0) > MAX_REQUEST_BYTES:
            raise ApiError(413, "request_too_large", DEFAULT_ERROR_MESSAGES["request_too_large"])
        try:
            return json.loads(await request.read())
        except ValueError:
            raise invalid(
                "There was an error parsing the body of your request. Please check that it is "
                "valid JSON."
            ) from None

    # --- endpoints -------------------------------------------------------------------------

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        at, request_id, body = time.monotonic(), new_id("req_"), None
        try:
            self._check_headers(request)
            body = await self._read_json(request)
            betas = betas_of(request.headers)
            model, rules = validate_request(
                body, counting=False, known_models=self.known_models, betas=betas
            )
            validate_media(body, request.headers, self.files, rules)
            prompt = layout(model, body)
            points = breakpoints(prompt.blocks, body)
            tools, waiting = request_tools(body, rules, betas)
            self.tool_state.container_of(body)
            limit = self.context_limit or rules.context_window
            if prompt.total > limit:  # the real API's wording
                raise invalid(f"prompt is too long: {prompt.total} tokens > {limit} maximum")
        except ApiError as err:
            self._record(request, body, err.status, at=at, request_id=request_id)
            return self._error(err, request_id)
        self.tool_state.note_continuation(body["messages"])
        item = None if body["max_tokens"] == 0 else self._script.pop(model) or self._default(body)
        if isinstance(item, HttpError):
            self._record(request, body, item.status, at=at, request_id=request_id)
            message = item.message or DEFAULT_ERROR_MESSAGES.get(item.error_type, "Error")
            error = ApiError(item.status, item.error_type, message)
            return self._error(error, request_id, item.retry_after)
        usage = self.cache.account(prompt, points, rules.cache_min_tokens)
        renderer = Renderer(model, usage, body["max_tokens"], server_tools=tools.uses_server_tools)
        context = ToolContext(body, tools, waiting, self.files, self.tool_state)
        try:
            rendered = renderer.prewarm() if item is None else render_item(renderer, item, context)
        except ScriptError as err:
            self.script_errors.append(str(err))
            self._record(request, body, 500, at=at, request_id=request_id)
            return self._error(
                ApiError(500, "api_error", f"fake Claude script error: {err}"), request_id
            )
        failure = None if body.get("stream") else _http_failure(rendered)
        status = failure.status if failure is not None else 200
        record_usage = rendered.message["usage"]
        self._record(request, body, status, at=at, request_id=request_id, usage=record_usage)
        if body.get("stream"):
            if self.hold_streams is not None:
                await self.hold_streams.wait()
            return await self._stream(request, rendered, request_id)
        await asyncio.sleep(rendered.duration)
        if failure is not None:
            return self._error(failure, request_id)
        return web.json_response(rendered.message, headers={"request-id": request_id})

    async def _stream(
        self, request: web.Request, rendered: Rendered, request_id: str
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "content-type": "text/event-stream; charset=utf-8",
                "cache-control": "no-cache",
                "request-id": request_id,
            }
        )
        await response.prepare(request)
        await self._write_steps(response, rendered.steps, request_id)
        await response.write_eof()
        return response

    async def _write_steps(
        self, response: web.StreamResponse, steps: list[Step], request_id: str
    ) -> None:
        started = time.monotonic()
        pending: list[bytes] = []
        texts: list[str] = []
        per_request = self.streams_sent.setdefault(request_id, []) if self.record_streams else None

        async def flush() -> None:
            if pending:
                await response.write(b"".join(pending))
                now = time.monotonic()
                self.stream_events_sent.extend((now, t) for t in texts)
                if per_request is not None:
                    per_request.extend((now, t) for t in texts)
                pending.clear()
                texts.clear()

        for step in steps:
            if step.pause:
                await flush()
                await asyncio.sleep(step.pause)
                started -= step.pause  # later steps keep their pacing after the pause
                continue
            delay = started + step.at - time.monotonic()
            if delay > 0:
                await flush()
                await asyncio.sleep(delay)
            pending.append(step.data)
            if step.text is not None:
                texts.append(step.text)
        await flush()

    async def _count_tokens(self, request: web.Request) -> web.StreamResponse:
        at, request_id, body = time.monotonic(), new_id("req_"), None
        try:
            self._check_headers(request)
            body = await self._read_json(request)
            _, rules = validate_request(
                body,
                counting=True,
                known_models=self.known_models,
                betas=betas_of(request.headers),
            )
            validate_media(body, request.headers, self.files, rules)
            breakpoints(layout("", body).blocks, body)
        except ApiError as err:
            self._record(request, body, err.status, at=at, request_id=request_id)
            return self._error(err, request_id)
        self._record(request, body, 200, at=at, request_id=request_id)
        return web.json_response(
            {"input_tokens": total_tokens(body)}, headers={"request-id": request_id}
        )

    def _model_ids(self) -> list[str]:
        ids = self.known_models if self.known_models is not None else set(MODEL_RULES)
        return sorted(m for m in ids if is_known(m, self.known_models))

    async def _models(self, request: web.Request) -> web.StreamResponse:
        at, request_id = time.monotonic(), new_id("req_")
        try:
            self._check_headers(request)
        except ApiError as err:
            self._record(request, None, err.status, at=at, request_id=request_id)
            return self._error(err, request_id)
        data = [
            {
                "type": "model",
                "id": m,
                "display_name": m,
                "created_at": "2026-01-01T00:00:00Z",
                "lifecycle": "active",
            }
            for m in self._model_ids()
        ]
        page = {"data": data, "has_more": False, "first_id": data[0]["id"] if data else None}
        page["last_id"] = data[-1]["id"] if data else None
        self._record(request, None, 200, at=at, request_id=request_id)
        return web.json_response(page, headers={"request-id": request_id})

    def uploaded(self) -> list[StoredFile]:
        """Every file uploaded to the Files API, in order."""
        return list(self.files.uploads)

    async def _not_found(self, request: web.Request) -> web.StreamResponse:
        at, request_id = time.monotonic(), new_id("req_")
        self._record(request, None, 404, at=at, request_id=request_id)
        return self._error(ApiError(404, "not_found_error", "Not Found"), request_id)
