"""HTTP clients for the cluster: one request, a POST retried with its Idempotency-Key, and
bounded load loops (every loop stops at a count and at a deadline, whichever comes first).

A connection per request (`Connection: close`): a request never meets a connection that nginx
closed meanwhile (a reload, its keepalive timeout), so an error is always the cluster's.
"""
from __future__ import annotations

import http.client
import json
import random
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field

HTTP_TIMEOUT = 20.0  # per socket operation; above nginx's own (10 s read, 15 s next-upstream)
RETRYABLE = {502, 503, 504}
SERVICE_UNAVAILABLE = {"error": "Service Unavailable"}


@dataclass
class Answer:
    status: int | None  # None: no answer (a refused or reset connection, a timeout)
    headers: dict[str, str]
    body: bytes
    elapsed: float
    error: str | None = None

    def json(self):
        return json.loads(self.body)

    @property
    def unavailable_ok(self) -> bool:
        """A 503 as the API promises: JSON {"error": "Service Unavailable"} with Retry-After."""
        try:
            body = self.json()
        except ValueError:
            return False
        return (self.status == 503 and body == SERVICE_UNAVAILABLE and "retry-after" in self.headers
                and self.headers.get("content-type", "").startswith("application/json"))


def request(host: str, port: int, method: str, path: str, body: object = None,
            headers: dict[str, str] | None = None, timeout: float = HTTP_TIMEOUT) -> Answer:
    hdrs = {"Connection": "close", "Accept": "application/json", **(headers or {})}
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    started = time.monotonic()
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=payload, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        return Answer(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data, time.monotonic() - started)
    except (OSError, http.client.HTTPException) as exc:
        return Answer(None, {}, b"", time.monotonic() - started, f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()


def new_key() -> str:
    return str(uuid.uuid4())


@dataclass
class PostResult:
    text: str
    key: str
    answer: Answer | None = None  # the final one
    attempts: int = 0
    errors: list[str] = field(default_factory=list)  # what each failed attempt met

    @property
    def ok(self) -> bool:
        return self.answer is not None and self.answer.status == 201

    @property
    def replayed(self) -> bool:
        return self.ok and self.answer.headers.get("idempotent-replayed") == "true"


def post_until_done(host: str, port: int, text: str, key: str, deadline: float, max_attempts: int = 60,
                    stop: threading.Event | None = None) -> PostResult:
    """POST /api/comments with one Idempotency-Key until a 201, retrying on no answer and on
    502/503/504 (backing off, Retry-After capped at 1 s), at most `max_attempts` times and
    never past `deadline`. Any other status ends it: it is the test's failure to report."""
    result = PostResult(text, key)
    body = {"text": text}
    while result.attempts < max_attempts and time.monotonic() < deadline:
        result.attempts += 1
        answer = request(host, port, "POST", "/api/comments", body, {"Idempotency-Key": key})
        result.answer = answer
        if answer.status is not None and answer.status not in RETRYABLE:
            return result
        result.errors.append(answer.error or f"{answer.status}")
        if stop is not None and stop.is_set() and time.monotonic() > deadline - 1:
            break
        pause = min(0.05 * 2 ** min(result.attempts, 5), 1.0) * random.uniform(0.5, 1.0)
        time.sleep(pause)
    return result


def send_and_hang_up(host: str, port: int, text: str, key: str) -> None:
    """A POST whose client goes away before the answer: the request is sent in full, then the
    socket is closed unread. The app may or may not have written the comment; only a retry
    with the key can tell, and must not write it twice."""
    payload = json.dumps({"text": text}).encode()
    head = (f"POST /api/comments HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Idempotency-Key: {key}\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(head + payload)
        time.sleep(random.uniform(0.0, 0.02))  # sometimes before the app has read it, sometimes after


class Counter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def add(self, n: int = 1) -> int:
        with self._lock:
            self.value += n
            return self.value
