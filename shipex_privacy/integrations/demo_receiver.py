"""A small stand-in for a ShipEx system of record, for the demo and for trying integrations locally.

It receives the back office's webhooks, checks their signature and replay window, ignores a delivery
it already has (by ``Idempotency-Key``), answers 200 at once, and then calls back through the API with
its client's token, as a real system would once its work is done: an erasure erased (with a record
kept under the Tax Code), its part of an access package, a correction applied, a stop or a withdrawal done.
"""

import json
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .webhooks import SIGNATURE_HEADER, SignatureError, verify_signature

# The demo's receivers listen from this port up, one port per system in demo_systems() order.
DEMO_PORT = 8765


def demo_systems():
    """The systems an erasure leaves work for (the owners of the catalogue's unbound entries): the
    ones the demo integrates, so that a demo erasure can close once they have all answered."""
    from shipex_privacy.catalogue.models import System

    return list(System.objects.filter(fields__binding="").distinct().order_by("code"))


def demo_url(index: int, port: int = DEMO_PORT) -> str:
    return f"http://127.0.0.1:{port + index}/"


ANSWER_ATTEMPTS = 5  # waits of 1, 2, 4 and 8 seconds between them

# One answer at a time from this process: the demo's SQLite back office takes writes one by one anyway.
ANSWERING = threading.Lock()


def demo_answer(kind: str, system_name: str) -> dict:
    if kind == "erasure":
        return {"outcome": "done", "erased": ["order history", "saved addresses", "delivery photos"],
                "kept": [{"data": "invoices", "law": "Tax Code of Uzbekistan, art. 91", "until": None}]}
    if kind == "access":
        return {"outcome": "done", "part": [{"title": f"{system_name}: deliveries", "records": [
            {"parcel": "UZ-2026-0001", "from": "Toshkent", "to": "Samarqand", "delivered": True}]}]}
    if kind == "correction":
        return {"outcome": "done", "applied": ["profile copied from the back office"]}
    return {"outcome": "done"}


class DemoReceiver:
    def __init__(self, *, secret: str, token: str, back_office: str, system_name: str, log=print):
        self.secret, self.token, self.back_office = secret, token, back_office.rstrip("/")
        self.system_name, self.log = system_name, log
        self.seen: set[str] = set()
        self.lock = threading.Lock()

    def handle(self, headers, body: bytes) -> int:
        try:
            verify_signature(self.secret, headers.get(SIGNATURE_HEADER, ""), body)
        except SignatureError as error:
            self.log(f"refused a delivery: {error}")
            return 400
        key = headers.get("Idempotency-Key", "")
        with self.lock:
            if key in self.seen:
                self.log(f"delivery {key} again: already have it")
                return 200
            self.seen.add(key)
        message = json.loads(body)
        self.log(f"received {message['type']} for request #{message['request_id']} (task {message['task_id']})")
        threading.Thread(target=self.answer, args=(message,), daemon=True).start()
        return 200

    def answer(self, message: dict) -> None:
        body = json.dumps(demo_answer(message["kind"], self.system_name)).encode()
        call = urllib.request.Request(self.back_office + message["answer_path"], data=body, method="POST",  # noqa: S310
                                      headers={"Content-Type": "application/json",
                                               "Authorization": f"Bearer {self.token}"})
        # As a real system would, try again a few times when the back office is busy or down (a 5xx,
        # no connection); a refusal (4xx) is final. Repeated answers are harmless: the API ignores them.
        for attempt in range(ANSWER_ATTEMPTS):
            try:
                with ANSWERING, urllib.request.urlopen(call, timeout=30) as response:  # noqa: S310 (operator's URL)
                    self.log(f"answered task {message['task_id']}: HTTP {response.status}")
                return
            except urllib.error.HTTPError as error:
                if error.code < 500 or attempt == ANSWER_ATTEMPTS - 1:
                    self.log(f"could not answer task {message['task_id']}: {error}")
                    return
            except OSError as error:
                if attempt == ANSWER_ATTEMPTS - 1:
                    self.log(f"could not answer task {message['task_id']}: {error}")
                    return
            time.sleep(2 ** attempt)

    def server(self, host: str, port: int) -> ThreadingHTTPServer:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(receiver.handle(self.headers, body))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        return ThreadingHTTPServer((host, port), Handler)
