"""The Files API routes of the fake Claude (the store and its rules: claude_files.py):
POST /v1/files, GET /v1/files/{id}, GET /v1/files/{id}/content, DELETE /v1/files/{id}."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from testing.fakes.claude_errors import ApiError, new_id
from testing.fakes.claude_files import require_files_beta

if TYPE_CHECKING:
    from testing.fakes.claude_server import FakeClaude

FILES_PATH = "/v1/files"


def register(app: web.Application, fake: FakeClaude) -> None:
    """Add the Files API routes to the fake's app (before its catch-all)."""
    store = fake.files

    async def call(
        request: web.Request, action: Callable[[], Awaitable[dict[str, Any] | bytes]]
    ) -> web.StreamResponse:
        at, request_id = time.monotonic(), new_id("req_")
        try:
            fake._check_headers(request)
            payload = await action()
        except ApiError as err:
            fake._record(request, None, err.status, at=at, request_id=request_id)
            return fake._error(err, request_id)
        headers = {"request-id": request_id}
        if isinstance(payload, bytes):
            fake._record(request, None, 200, at=at, request_id=request_id)
            stored = store.get(request.match_info["file_id"])
            return web.Response(body=payload, content_type=stored.mime_type, headers=headers)
        fake._record(request, payload, 200, at=at, request_id=request_id)
        return web.json_response(payload, headers=headers)

    def file_id(request: web.Request) -> str:
        require_files_beta(request.headers)
        return request.match_info["file_id"]

    async def upload(request: web.Request) -> web.StreamResponse:
        async def action() -> dict[str, Any]:
            return (await store.upload(request)).metadata()

        return await call(request, action)

    async def metadata(request: web.Request) -> web.StreamResponse:
        async def action() -> dict[str, Any]:
            return store.get(file_id(request)).metadata()

        return await call(request, action)

    async def content(request: web.Request) -> web.StreamResponse:
        async def action() -> bytes:
            return store.download(file_id(request)).data

        return await call(request, action)

    async def delete(request: web.Request) -> web.StreamResponse:
        async def action() -> dict[str, Any]:
            return store.delete(file_id(request))

        return await call(request, action)

    app.router.add_post(FILES_PATH, fake._tracked(upload))
    app.router.add_get(FILES_PATH + "/{file_id}", fake._tracked(metadata))
    app.router.add_get(FILES_PATH + "/{file_id}/content", fake._tracked(content))
    app.router.add_delete(FILES_PATH + "/{file_id}", fake._tracked(delete))
