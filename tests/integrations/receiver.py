"""A real HTTP receiver on 127.0.0.1 for webhook tests: answers from a script, keeps what arrived."""

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    headers: dict
    body: bytes


@dataclass
class Receiver:
    url: str
    answers: list[int] = field(default_factory=list)  # status codes to answer, in turn; then 200
    received: list[Received] = field(default_factory=list)

    @property
    def keys(self) -> list[str]:
        return [item.headers.get("idempotency-key") for item in self.received]


def start_receiver() -> tuple[Receiver, ThreadingHTTPServer]:
    receiver = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            # Header names case-insensitively, as HTTP has them: lower-cased here.
            receiver.received.append(Received({k.lower(): v for k, v in self.headers.items()}, body))
            status = receiver.answers.pop(0) if receiver.answers else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass  # quiet test output

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_port}/hooks/shipex"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver, server
