"""The supervisor's page: Overview, Threads, Timeline and one message, as a Starlette app.

Each request opens the repository afresh (pygit2 objects stay in one thread) and reads it;
nothing here moves a read cursor. With ``allow_send`` a person may write to an architect or a
builder as the reserved sender ``human``.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from codev_git.errors import CodevError
from codev_git.store import Store
from codev_git.web.guard import Guard
from codev_git.web.index import MessageIndex
from codev_git.web.live import LiveHub

MAX_FORM_BYTES = 256 * 1024


def web_dir() -> Path:
    from importlib import resources

    return Path(str(resources.files("codev_git.templates").joinpath("web")))


@dataclass
class Settings:
    git_dir: Path
    allow_send: bool = False
    stale_seconds: float = 3600.0
    index: MessageIndex | None = None
    hub: LiveHub | None = None
    guard: Guard | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def store(self) -> Store:
        return Store.open(str(self.git_dir))


def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from codev_git.clock import iso_seconds
    from codev_git.messaging.render import body_text, visible

    env = Environment(
        loader=FileSystemLoader(web_dir()),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["visible"] = visible
    env.filters["body"] = body_text
    env.filters["when"] = iso_seconds
    return env


def make_app(settings: Settings) -> Guard:
    from markupsafe import Markup

    env = _environment()
    hub = settings.hub or LiveHub(settings.git_dir)
    settings.hub = hub

    def page(
        request: Request, body: str, title: str, status: int = 200, **ctx: Any
    ) -> HTMLResponse:
        guard = settings.guard
        ctx.update(
            allow_send=settings.allow_send,
            csrf=guard.csrf if guard else "",
            path=request.url.path,
            hub_version=hub.version,
            query=dict(request.query_params),
        )
        inner = Markup(env.get_template(body).render(**ctx))
        if request.query_params.get("fragment"):
            return HTMLResponse(inner, status)
        whole = env.get_template("page.html.j2").render(title=title, body=inner, **ctx)
        return HTMLResponse(whole, status)

    def index() -> MessageIndex:
        if settings.index is None:
            settings.index = MessageIndex()
        return settings.index

    def overview(request: Request) -> Response:
        from codev_git.web.views import overview as build

        data = build(settings.store(), index(), stale_seconds=settings.stale_seconds)
        return page(request, "overview.html.j2", "Overview", data=data)

    def threads(request: Request) -> Response:
        from codev_git.web.views import threads_view

        return page(request, "threads.html.j2", "Threads", threads=threads_view(settings.store()))

    def thread(request: Request) -> Response:
        from codev_git.web.views import thread_detail

        try:
            data = thread_detail(settings.store(), request.path_params["name"])
        except CodevError as exc:
            return page(request, "missing.html.j2", "Not found", 404, what=str(exc))
        title = f"Thread {data['name']}"
        return page(request, "thread.html.j2", title, t=data, html=data["html"])

    def timeline(request: Request) -> Response:
        from codev_git.messaging.render import message_json
        from codev_git.web.pages import Filters, parse_cursor, timeline_page

        q = request.query_params
        verified = {"yes": True, "no": False}.get(q.get("verified", ""))
        filters = Filters(
            architect=q.get("architect") or None,
            builder=q.get("builder") or None,
            thread=q.get("thread") or None,
            verified=verified,
        )
        store = settings.store()
        result = timeline_page(store, filters, before=parse_cursor(q.get("before")))
        kept = {k: v for k, v in q.items() if k not in ("before", "fragment") and v}
        newest = "?" + urlencode(kept) if kept else ""
        older = "?" + urlencode({**kept, "before": result.before}) if result.before else None
        return page(
            request,
            "timeline.html.j2",
            "Timeline",
            messages=[message_json(m) for m in result.messages],
            older=older,
            newest=newest,
            first=not q.get("before"),
            filters=filters,
            choices=_choices(store),
        )

    def message(request: Request) -> Response:
        from codev_git.messaging.render import message_json
        from codev_git.web.pages import load_message, reply_chain

        store = settings.store()
        try:
            msg = load_message(store, request.path_params["id"])
        except CodevError as exc:
            return page(request, "missing.html.j2", "Not found", 404, what=str(exc))
        idx = index()
        idx.refresh(store)
        earlier, later = reply_chain(store, msg, {msg.id: idx.replies_to(msg.id)})
        return page(
            request,
            "message.html.j2",
            f"Message {msg.short_id}",
            m=message_json(msg),
            earlier=[message_json(x) for x in earlier],
            later=[message_json(x) for x in later],
            sent=request.query_params.get("sent"),
        )

    async def events(request: Request) -> Response:
        return StreamingResponse(
            hub.stream(request.is_disconnected),
            media_type="text/event-stream",
            headers={"x-accel-buffering": "no"},
        )

    async def send(request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool

        guard = settings.guard
        headers = {k.lower(): v for k, v in request.headers.items()}
        if not settings.allow_send:  # answered before reading a body anyone may POST
            return HTMLResponse("sending is off: start git codev web --allow-send\n", 403)
        raw = bytearray()
        try:
            async for chunk in request.stream():
                raw += chunk
                if len(raw) > MAX_FORM_BYTES:  # never buffer more, never send a cut message
                    too_long = (
                        f"the message is too long: keep it under {MAX_FORM_BYTES // 1024} KiB\n"
                    )
                    return HTMLResponse(too_long, 413)
        except ClientDisconnect:  # it went away mid-form: nothing to send, nobody to answer
            return Response(status_code=400)
        fields = parse_qs(raw.decode("utf-8", "replace"))
        form = {k: v[0] for k, v in fields.items()}
        if guard is None or not guard.same_origin(headers) or not guard.csrf_ok(form.get("csrf")):
            return HTMLResponse("refused: the form did not come from this page\n", 403)

        def deliver() -> str:
            from codev_git.messaging.overseer import send_as_human

            text = form.get("message", "").replace("\r\n", "\n")
            new_id, _ = send_as_human(settings.store(), form.get("to", "").strip(), text.encode())
            return new_id

        try:
            new_id = await run_in_threadpool(deliver)
        except CodevError as exc:
            return page(request, "missing.html.j2", "Not sent", 400, what=str(exc))
        return RedirectResponse(f"/message/{new_id}?sent=1", status_code=303)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        hub.start()
        try:
            yield
        finally:
            hub.close()

    routes = [
        Route("/", releasing(overview)),
        Route("/threads", releasing(threads)),
        Route("/threads/{name}", releasing(thread)),
        Route("/timeline", releasing(timeline)),
        Route("/message/{id}", releasing(message)),
        Route("/events", events),
        Route("/send", send, methods=["POST"]),
        Mount("/static", StaticFiles(directory=web_dir() / "static"), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    guard = settings.guard or Guard(app, "127.0.0.1", None)
    guard.app = app
    settings.guard = guard
    return guard


def releasing(view: Callable[[Request], Response]) -> Callable[[Request], Response]:
    """Run a view (it opens and drops its own repository), then hand the memory its walk
    used back to the system: glibc keeps freed heap otherwise, and a server that once read
    100,000 commits would stay that big."""

    @functools.wraps(view)
    def run(request: Request) -> Response:
        try:
            return view(request)
        finally:
            _trim()

    return run


@functools.cache
def _libc() -> Any:
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        return libc if libc is not None and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def _trim() -> None:
    import gc

    gc.collect()  # a repository caught in a reference cycle would keep its caches
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


def _choices(store: Store) -> dict[str, list[str]]:
    """Names for the timeline's filter menus."""
    from codev_git.ownership.builder_state import architect_names
    from codev_git.ownership.records import OwnerBook
    from codev_git.threads.model import head_commit, list_threads

    owned = OwnerBook(store).all()
    return {
        "architects": list(architect_names(store, owned)),
        "builders": sorted(o.current.builder for o in owned),
        "threads": [t.name for t in list_threads(store, head_commit(store), archived=True)],
    }
