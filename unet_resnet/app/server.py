"""The FastAPI application: one static page and the HTTP API over a :class:`~unet_resnet.app.service.ColorService`.

API (all errors are JSON ``{"detail": "<message>"}`` with a 4xx status, never a traceback):

- ``GET /api/info``: the model's render size, whether it takes hints (and why not), whether it restores, the limits.
- ``POST /api/colorize`` (multipart: ``image``; optional ``hints``, ``restore``, ``size``, ``format``, ``quality``):
  the colorized photo at its own size, as ``infer.py`` writes it (format: the upload's own unless given).
- ``POST /api/photos`` and ``/api/photos/{id}/...``: the page's editing session (the photo is decoded once and held
  in memory; previews at most ``PREVIEW_SIDE`` pixels; ``result`` at full resolution).

Requests run concurrently: at most ``max_jobs`` work at once (decoding and encoding in threads, the model behind a
lock), ``max_waiting`` more wait, and beyond that a request is told to retry (503 with ``Retry-After``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from unet_resnet.app.service import (
    MEDIA_TYPES,
    PREVIEW_SIDE,
    ColorService,
    Limits,
    PhotoStore,
    RequestError,
    check_quality,
    decode_upload,
    encode_preview,
    encode_result,
    hint_items,
    output_suffix,
    too_large,
)

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
FORM_SLACK = 1 << 20
"""Bytes a request body may hold beyond the upload limit: the multipart framing and the other fields."""
CSP = "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; connect-src 'self'"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


class _TooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: a request body longer than ``max_bytes`` gets 413 as soon as it is seen to be (from its
    Content-Length, or while it streams in), before the rest of it is read or spooled anywhere."""

    def __init__(self, app: Callable[..., Awaitable[None]], max_bytes: int, upload_bytes: int) -> None:
        self.app, self.max_bytes, self.upload_bytes = app, max_bytes, upload_bytes

    def _refuse(self) -> JSONResponse:
        return JSONResponse({"detail": too_large("the upload", self.upload_bytes)}, status_code=413)

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]], send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse()(scope, receive, send)
            return
        state = {"received": 0, "over": False, "started": False}

        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > self.max_bytes:
                    state["over"] = True
                    raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            if not state["over"]:  # once over the limit, whatever the app answers is replaced by the 413
                state["started"] = True
                await send(message)

        try:
            await self.app(scope, counted, guarded_send)
        except Exception:
            if not state["over"]:
                raise
        if state["over"] and not state["started"]:
            await self._refuse()(scope, receive, send)


class Gate:
    """At most ``jobs`` requests work at once and ``waiting`` more queue; the next one is told to retry."""

    def __init__(self, jobs: int, waiting: int) -> None:
        self.jobs, self.waiting = jobs, waiting
        self.queued = 0
        self._semaphore: asyncio.Semaphore | None = None

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self.queued >= self.jobs + self.waiting:
            raise RequestError(503, f"the app is busy ({self.queued} requests in progress); retry in a moment")
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.jobs)
        self.queued += 1
        try:
            async with self._semaphore:
                yield
        finally:
            self.queued -= 1


def _attachment(name: str, suffix: str) -> str:
    """The download's name: ``NAME-colour.EXT``; a film's keyframe (named by its frame number, ``000120.png``,
    as ``unet-resnet keyframes`` writes them) keeps its name, so that it goes back into its folder as it is."""
    stem = Path(name).stem or "photo"
    if stem.isascii() and stem.isdigit():
        return f'attachment; filename="{stem}{suffix}"'
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)[:100]
    return f'attachment; filename="{safe}-colour{suffix}"'


def create_app(
    service: ColorService,
    limits: Limits | None = None,
    store: PhotoStore | None = None,
    max_jobs: int = 2,
    max_waiting: int = 30,
) -> FastAPI:
    """The app over a loaded model. ``limits``: what an upload may be; ``store``: the page's held photos."""
    limits = limits or Limits()
    store = store or PhotoStore()
    gate = Gate(max_jobs, max_waiting)
    app = FastAPI(title="unet_resnet", docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    app.add_middleware(BodyLimit, max_bytes=limits.max_bytes + FORM_SLACK, upload_bytes=limits.max_bytes)

    @app.middleware("http")
    async def headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        if request.url.path.startswith("/api/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.exception_handler(RequestError)
    async def request_error(request: Request, exc: RequestError) -> JSONResponse:
        extra = {"Retry-After": "1"} if exc.status == 503 else None
        return JSONResponse({"detail": exc.message}, status_code=exc.status, headers=extra)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            field = str(err.get("loc", ["", "?"])[-1])
            if err.get("type") == "missing":
                problems.append(
                    f"the form field '{field}' is missing (send multipart/form-data, e.g. -F image=@photo.jpg)"
                )
            else:
                problems.append(f"the form field '{field}' is invalid: {err.get('msg')}")
        return JSONResponse({"detail": "; ".join(problems)}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("error while serving %s", request.url.path)
        return JSONResponse({"detail": f"internal error ({type(exc).__name__}); see the app's log"}, status_code=500)

    async def read_upload(image: UploadFile) -> bytes:
        data = await image.read(limits.max_bytes + 1)
        await image.close()
        return data

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/api/info")
    async def info() -> dict[str, Any]:
        return {
            "model": service.name,
            "size": service.model.size,
            "takes_hints": service.takes_hints,
            "hints_off_reason": service.hints_off_reason(),
            "restores": service.restores,
            "max_upload_bytes": limits.max_bytes,
            "max_pixels": limits.max_pixels,
            "preview_side": PREVIEW_SIDE,
            "in_progress": gate.queued,
        }

    @app.post("/api/colorize")
    async def colorize(
        image: Annotated[UploadFile, File()],
        hints: Annotated[str | None, Form()] = None,
        restore: Annotated[bool, Form()] = False,
        size: Annotated[int | None, Form()] = None,
        format: Annotated[str | None, Form()] = None,
        quality: Annotated[int, Form()] = 95,
    ) -> Response:
        name = image.filename or "upload"
        data = await read_upload(image)
        check_quality(quality)
        items = hint_items(hints)
        async with gate.slot():

            def work() -> tuple[bytes, str]:
                photo, kind = decode_upload(data, name, limits)
                suffix = output_suffix(format, kind)
                width, height = photo.size
                points = service.check_hints(items, "hints", width, height)
                pixels = service.colorize(photo, points, size, restore)
                return encode_result(pixels, suffix, quality), suffix

            body, suffix = await run_in_threadpool(work)
        return Response(
            body, media_type=MEDIA_TYPES[suffix], headers={"Content-Disposition": _attachment(name, suffix)}
        )

    @app.post("/api/photos")
    async def open_photo(image: Annotated[UploadFile, File()]) -> dict[str, Any]:
        name = image.filename or "upload"
        data = await read_upload(image)
        async with gate.slot():

            def work() -> tuple[str, Any]:
                photo, kind = decode_upload(data, name, limits)
                return store.add(name, kind, photo)

            key, held = await run_in_threadpool(work)
        width, height = held.photo.size
        return {"id": key, "name": name, "kind": held.kind, "width": width, "height": height}

    @app.get("/api/photos/{key}/before")
    async def before(key: str) -> Response:
        return Response(store.get(key).before_png, media_type="image/png")

    @app.post("/api/photos/{key}/preview")
    async def preview(
        key: str, hints: Annotated[str | None, Form()] = None, restore: Annotated[bool, Form()] = False
    ) -> Response:
        held = store.get(key)
        items = hint_items(hints)
        async with gate.slot():

            def work() -> bytes:
                width, height = held.photo.size
                points = service.check_hints(items, "hints", width, height)
                return encode_preview(service.colorize_held(held, points, restore, full=False))

            body = await run_in_threadpool(work)
        return Response(body, media_type="image/png")

    @app.post("/api/photos/{key}/result")
    async def result(
        key: str,
        hints: Annotated[str | None, Form()] = None,
        restore: Annotated[bool, Form()] = False,
        format: Annotated[str | None, Form()] = None,
        quality: Annotated[int, Form()] = 95,
    ) -> Response:
        held = store.get(key)
        check_quality(quality)
        suffix = output_suffix(format, held.kind)
        items = hint_items(hints)
        async with gate.slot():

            def work() -> bytes:
                width, height = held.photo.size
                points = service.check_hints(items, "hints", width, height)
                return encode_result(service.colorize_held(held, points, restore, full=True), suffix, quality)

            body = await run_in_threadpool(work)
        headers = {"Content-Disposition": _attachment(held.name, suffix)}
        return Response(body, media_type=MEDIA_TYPES[suffix], headers=headers)

    @app.delete("/api/photos/{key}")
    async def close_photo(key: str) -> dict[str, bool]:
        return {"removed": store.remove(key)}

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
