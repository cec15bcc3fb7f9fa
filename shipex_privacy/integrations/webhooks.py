"""Signing webhooks, and the check a receiving system runs (docs/webhooks.md).

The signature is HMAC-SHA256, keyed with the integration's signing secret, over
``"{timestamp}.{body}"``, sent as ``ShipEx-Signature: t=<unix seconds>,v1=<hex>`` (Stripe's form;
GitHub's is the same idea). Signing the timestamp with the body lets a receiver refuse an old
delivery replayed by someone who captured it: ``verify_signature`` accepts only a timestamp within
``tolerance`` seconds of now.
"""

import hashlib
import hmac
import json
import time

SIGNATURE_HEADER = "ShipEx-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
DEFAULT_TOLERANCE = 300  # seconds: five minutes, as Stripe's libraries default to


class SignatureError(ValueError):
    """The delivery is not signed by the secret, or it is too old (or from the future)."""


def body_bytes(payload: dict) -> bytes:
    """The exact bytes sent: compact, keys sorted, so the same message is the same body on every retry."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, now: float | None = None) -> str:
    timestamp = int(time.time() if now is None else now)
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify_signature(secret: str, header: str, body: bytes, now: float | None = None,
                     tolerance: int = DEFAULT_TOLERANCE) -> int:
    """Check a ``ShipEx-Signature`` header against the raw body; the signed timestamp, or SignatureError.

    Pass the body exactly as received (before any JSON parsing). Several ``v1=`` values may be
    present (e.g. while a secret is being replaced): one matching is enough.
    """
    parts = [part.strip().split("=", 1) for part in (header or "").split(",")]
    timestamps = [value for key, value in (p for p in parts if len(p) == 2) if key == "t"]
    signatures = [value for key, value in (p for p in parts if len(p) == 2) if key == "v1"]
    if len(timestamps) != 1 or not signatures:
        raise SignatureError("The header must be t=<timestamp>,v1=<signature>.")
    try:
        timestamp = int(timestamps[0])
    except ValueError:
        raise SignatureError("The timestamp is not a number.") from None
    expected = signature(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, given) for given in signatures):
        raise SignatureError("No signature matches the body.")
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise SignatureError("The timestamp is outside the tolerance: a replay, or a clock far off.")
    return timestamp
