"""HTTP to WeChat under one deadline per call: connections whose socket a
watchdog can cut while the headers are awaited, and a body read against
the deadline and within a size limit (see :mod:`app.wechat.client`)."""
from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import socket
import time

import requests
import requests.adapters
import urllib3
import urllib3.connection

from app.wechat.errors import WeChatUnavailable

# The client's logger: every line about a WeChat call is found under one name.
log = logging.getLogger("app.wechat.client")

# WeChat's answers are a few hundred bytes; anything this big is not one.
MAX_BODY_BYTES = 64 * 1024
_READ_CHUNK = 8192


# The sockets of the WeChat call running in this context, for its watchdog.
call_sockets: contextvars.ContextVar[list | None] = contextvars.ContextVar(
    "wechat_call_sockets", default=None)


class _WatchedConnection(urllib3.connection.HTTPConnection):
    """urllib3 connections that list their socket once a request is sent, so
    that the call's watchdog can cut it while it waits for the headers."""

    def request(self, *args, **kwargs):
        super().request(*args, **kwargs)
        sockets = call_sockets.get()
        if sockets is not None and self.sock is not None:
            sockets.append(self.sock)


class _HTTPConnection(_WatchedConnection):
    pass


class _HTTPSConnection(_WatchedConnection, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class DeadlineAdapter(requests.adapters.HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


def cut(sockets: list) -> None:
    """The deadline passed: wake whatever read waits on these sockets."""
    for sock in sockets:
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)


def json_object(raw: bytes, path: str) -> dict:
    try:
        body = json.loads(raw)  # WeChat does not always say application/json
    except ValueError:
        body = None
    if not isinstance(body, dict):
        log.warning("wechat %s answered something that is not a JSON object", path)
        raise WeChatUnavailable()
    return body


def read_body(response: requests.Response, deadline: float, path: str,
               max_bytes: int = MAX_BODY_BYTES) -> bytes:
    """The whole body, read as it comes, before ``deadline`` and within
    ``max_bytes``; WeChatUnavailable otherwise."""
    raw, chunks, size = response.raw, [], 0
    connection = getattr(raw, "connection", None)
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                log.warning("wechat %s did not answer within the deadline", path)
                raise WeChatUnavailable()
            sock = getattr(connection, "sock", None)
            if sock is not None:
                sock.settimeout(left)  # no single read may outlive the deadline
            chunk = raw.read1(_READ_CHUNK, decode_content=True)  # whatever has arrived
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                log.warning("wechat %s answered more than %s bytes", path, max_bytes)
                raise WeChatUnavailable()
            chunks.append(chunk)
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as error:
        if time.monotonic() >= deadline:  # the watchdog cut the socket
            log.warning("wechat %s did not answer within the deadline", path)
        else:
            log.warning("wechat %s failed while answering: %s", path, type(error).__name__)
        raise WeChatUnavailable() from None
    raw.release_conn()  # read to the end: the connection may serve the next call
    return b"".join(chunks)
