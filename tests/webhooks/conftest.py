"""A real HTTP receiver on 127.0.0.1 (a free port, a thread) and a registered endpoint pointing at it."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

SECRET = "s" * 16 + "-receiver-secret-0123456789"  # 43 bytes


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    """Records every POST; answers with the queued status codes in turn (then 200), after `delay` s."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    statuses: deque = field(default_factory=deque)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length", 0)))
        with self.lock:
            self.received.append(Received(dict(request.headers), body, time.perf_counter()))
            status = self.statuses.popleft() if self.statuses else 200
        if self.delay:
            time.sleep(self.delay)
        request.send_response(status)
        request.send_header("Content-Length", "2")
        request.end_headers()
        request.wfile.write(b"ok")


def start_receiver(receiver: Receiver) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            receiver.answer(self)

        def log_message(self, *args) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request, client_address) -> None:
            pass  # a client that gave up (the timeout test) closes its end: not an error here

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    return server


@pytest.fixture
def receiver(settings):
    """A live receiver; DEBUG is on so its loopback URL is accepted (off, it would be refused as SSRF)."""
    settings.DEBUG = True
    receiver = Receiver()
    server = start_receiver(receiver)
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def endpoint(db, receiver):
    from webhooks.services import create_endpoint

    return create_endpoint(url=receiver.url, event_types=["alert.created", "case.opened", "case.closed"], secret=SECRET)
