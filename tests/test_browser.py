"""A real browser calls the API: headless Chromium on pages served from 127.0.0.1.

A page on an allowed origin creates a contact (``POST`` with a member token, JSON and an
``Idempotency-Key``: a preflighted request) and reads it back, reading the headers the
API exposes; a page on another origin, framed in the first (one browser, two origins),
tries the same and is blocked by the browser. Each page reports what it saw by posting to
its own origin, and the test waits for both reports (no sleeping). Chromium is Debian's
package, which ``make test`` installs (``make browser``).
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from app.db import Database
from tests.conftest import make_tenant
from tests.webhook_process import Service, free_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

PAGE = """<!doctype html><meta charset="utf-8"><title>Rapport in a browser</title>
<script>
const api = %(api)s, token = %(token)s;
async function run() {
  const auth = {"Authorization": "Bearer " + token};
  const created = await fetch(api + "/v1/contacts", {
    method: "POST",
    headers: {...auth, "Content-Type": "application/json", "Idempotency-Key": "page-1"},
    body: JSON.stringify({first_name: "Robin", last_name: "Page", segment: "prospect"}),
  });
  const contact = await created.json();
  const read = await fetch(api + "/v1/contacts/" + contact.id, {headers: auth});
  return {
    created: created.status, location: created.headers.get("Location"),
    read: read.status, name: (await read.json()).display_name,
    etag: read.headers.get("ETag"), request_id: read.headers.get("X-Request-ID"),
    rate_limit: read.headers.get("RateLimit"),
  };
}
run().catch(e => ({blocked: true, error: String(e)}))
  .then(r => fetch("/report", {method: "POST", body: JSON.stringify(r)}));
</script>%(frame)s"""


@pytest.fixture
def live(committed_url: str, tmp_path: Path) -> Iterator[tuple[Service, str]]:
    """The service, allowing one page origin (another port of 127.0.0.1 is another origin)."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed: `make browser` installs Debian's package")
    allowed = f"http://127.0.0.1:{free_port()}"
    service = Service(committed_url, tmp_path, webhooks_enabled="false", cors_origins=allowed)
    try:
        service.wait_ready(timeout=120)
        yield service, allowed
    finally:
        service.stop()


@pytest.fixture
async def pages() -> AsyncIterator[list[web.AppRunner]]:
    runners: list[web.AppRunner] = []
    yield runners
    for runner in runners:
        await runner.cleanup()


async def serve_page(
    runners: list[web.AppRunner], origin: str, html: str
) -> asyncio.Future[dict[str, Any]]:
    """Serve ``html`` at ``origin``/ and resolve the future with what it posts to /report."""
    report: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    async def page(_: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html")

    async def received(request: web.Request) -> web.Response:
        if not report.done():
            report.set_result(json.loads(await request.text()))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_post("/report", received)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", int(origin.rsplit(":", 1)[1])).start()
    runners.append(runner)
    return report


async def test_a_page_on_an_allowed_origin_works_and_one_on_another_is_blocked(
    live: tuple[Service, str],
    committed_db: Database,
    pages: list[web.AppRunner],
    tmp_path: Path,
) -> None:
    service, allowed = live
    tenant = await make_tenant(committed_db)
    async with httpx.AsyncClient(base_url=service.base_url, headers=tenant.headers) as admin:
        body = {"name": "Robin Browser", "email": "robin@example.com", "role": "agent"}
        member = (await admin.post("/v1/members", json=body)).json()["id"]
        token = (await admin.post(f"/v1/members/{member}/sessions")).json()["token"]
    other = f"http://127.0.0.1:{free_port()}"
    values = {"api": json.dumps(service.base_url), "token": json.dumps(token)}
    reports = [
        await serve_page(pages, allowed, PAGE % {**values, "frame": f'<iframe src="{other}/">'}),
        await serve_page(pages, other, PAGE % {**values, "frame": ""}),
    ]
    browser = await asyncio.create_subprocess_exec(
        str(CHROMIUM),
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'chromium'}",
        f"{allowed}/",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        works, blocked = await asyncio.wait_for(asyncio.gather(*reports), timeout=120)
    finally:
        if browser.returncode is None:
            browser.kill()
        await browser.wait()

    assert works["created"] == 201, works
    assert works["location"].startswith("/v1/contacts/")
    assert works["read"] == 200
    assert works["name"] == "Robin Page"
    assert works["etag"] == '"1"'
    assert works["request_id"]
    assert works["rate_limit"].startswith('"default";r=')
    assert blocked == {"blocked": True, "error": "TypeError: Failed to fetch"}
