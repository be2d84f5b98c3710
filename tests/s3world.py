"""Given-helpers for S3: a moto server on 127.0.0.1, a fault-injecting proxy, uploads."""

from __future__ import annotations

import gzip
import http.client
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import orjson

_ERRORS = {
    "slowdown": (503, "SlowDown", "Please reduce your request rate."),
    "error500": (500, "InternalError", "We encountered an internal error. Please try again."),
    "denied": (403, "AccessDenied", "Access Denied"),
    "kms-denied": (
        403,
        "AccessDenied",
        "User is not authorized to perform: kms:Decrypt on the resource associated with this "
        "ciphertext because no identity-based policy allows the kms:Decrypt action",
    ),
}


@dataclass
class Fault:
    """Do ``kind`` to the next ``times`` requests whose path contains ``match``."""

    kind: str
    match: str
    times: int = 1
    method: str = "GET"
    seconds: float = 0.0


@dataclass
class FaultProxy:
    """An HTTP proxy in front of the S3 emulator that records requests and injects faults."""

    upstream: tuple[str, int]
    faults: list[Fault] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def inject(self, kind: str, match: str, times: int = 1, seconds: float = 0.0) -> None:
        with self.lock:
            self.faults.append(Fault(kind, match, times, seconds=seconds))

    def clear(self) -> None:
        with self.lock:
            self.faults.clear()
            self.requests.clear()

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            self.requests.append((method, path))
            for fault in self.faults:
                if fault.times > 0 and fault.method == method and fault.match in path:
                    fault.times -= 1
                    return fault
        return None

    def list_prefixes(self) -> list[str]:
        """The Prefix of every ListObjectsV2 request seen."""
        out = []
        for method, path in self.requests:
            query = parse_qs(urlsplit(path).query, keep_blank_values=True)
            if method == "GET" and "list-type" in query:
                out.append(query.get("prefix", [""])[0])
        return out

    def start(self) -> FaultProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                fault = proxy.take_fault(self.command, self.path)
                if fault and fault.kind == "delay":
                    time.sleep(fault.seconds)
                    fault = None
                if fault and fault.kind == "reset":
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
                    self.close_connection = True
                    self.connection.close()
                    return
                if fault and fault.kind in _ERRORS:
                    status, code, message = _ERRORS[fault.kind]
                    xml = (
                        f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
                        f"<Message>{message}</Message></Error>"
                    ).encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(xml)))
                    self.end_headers()
                    self.wfile.write(xml)
                    return
                conn = http.client.HTTPConnection(*proxy.upstream, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if fault and fault.kind == "truncate" and len(payload) > 1:
                    self.wfile.write(payload[: len(payload) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(payload)
                conn.close()

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()


def s3_client(endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


def given_log_object(client: Any, bucket: str, key: str, records: list[dict[str, Any]]) -> bytes:
    """Upload a gzip ``{"Records": [...]}`` object; returns its bytes."""
    data = gzip.compress(orjson.dumps({"Records": records}), mtime=0)
    client.put_object(Bucket=bucket, Key=key, Body=data)
    return data


def upload_tree(client: Any, bucket: str, root: Path, prefix: str = "") -> list[str]:
    """Upload every file under ``root`` keeping its relative path as the key."""
    keys = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        key = f"{prefix.strip('/')}/{path.relative_to(root).as_posix()}".lstrip("/")
        client.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
        keys.append(key)
    return keys


def iter_keys(client: Any, bucket: str) -> Iterator[str]:
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            yield item["Key"]
