"""A stand-in for the Kimi / Moonshot key services, for the --verify tests.

A real HTTPS server in its own process on 127.0.0.1, with a certificate made at run time by
the `openssl` command line and signed by a throwaway certificate authority the test trusts.
It answers by key (the SHA-256 of the bearer token) and by the Host header the client names
(`api.moonshot.cn`, `api.moonshot.ai`, `api.kimi.com`), so region fallback can be shown.

    python -m tests.key_service ANSWERS LOG PORTFILE CERT KEY

ANSWERS is a JSON file read on every request: {"<sha256>": 200 | "hang" | {"<host>": 401}}.
Keys not listed get 401. "hang" reads the request and never answers.
Each request appends one JSON line to LOG: what arrived, with the key only as its SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import os
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ADDRESS_ENV = "KIMI_SECRET_SCAN_VERIFY_TEST_ADDRESS"
CA_ENV = "KIMI_SECRET_SCAN_VERIFY_TEST_CA"
_LOCK = threading.Lock()


# -- certificates -------------------------------------------------------------------------


@dataclass(frozen=True)
class Certs:
    ca: Path  # what the client trusts
    cert: Path  # the server's certificate, for 127.0.0.1 and ::1
    key: Path


def _openssl(cwd: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(folder: Path, name: str = "ca") -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    _openssl(
        folder,
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2",
        "-subj", f"/CN=kimi-secret-scan test {name}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    return folder / f"{name}.pem", folder / f"{name}.key"


def make_certs(folder: Path) -> Certs:
    """A certificate authority and a server certificate it signs, valid for loopback only."""
    ca, ca_key = make_ca(folder)
    (folder / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,IP:::1\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid\n",
        encoding="utf-8",
    )
    _openssl(
        folder,
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1",
    )  # fmt: skip
    _openssl(
        folder,
        "x509", "-req", "-in", "server.csr", "-CA", ca.name, "-CAkey", ca_key.name,
        "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext",
    )  # fmt: skip
    return Certs(ca, folder / "server.pem", folder / "server.key")


# -- the client side of the tests ---------------------------------------------------------


def sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass
class KeyService:
    port: int
    answers_file: Path
    log: Path
    ca: Path

    def env(self, ca: Path | None = None) -> dict[str, str]:
        # A proxy set on the machine running the tests is not used (empty counts as unset).
        no_proxy = {name: "" for name in ("https_proxy", "HTTPS_PROXY")}
        return {ADDRESS_ENV: f"127.0.0.1:{self.port}", CA_ENV: str(ca or self.ca), **no_proxy}

    def answer(self, key: str, answer: int | str | dict[str, int | str]) -> None:
        answers = json.loads(self.answers_file.read_text(encoding="utf-8"))
        answers[sha(key)] = answer
        tmp = self.answers_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(answers), encoding="utf-8")
        tmp.replace(self.answers_file)

    def requests(self, key: str | None = None) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        lines = self.log.read_text(encoding="utf-8").splitlines()
        entries = [json.loads(line) for line in lines if line]
        return [e for e in entries if key is None or e["key_sha256"] == sha(key)]


@contextmanager
def running(folder: Path, certs: Certs) -> Iterator[KeyService]:
    """The server as a real process; stopped (by its own pid) when the block ends."""
    folder.mkdir(parents=True, exist_ok=True)
    answers, log, portfile = folder / "answers.json", folder / "requests.jsonl", folder / "port"
    answers.write_text("{}", encoding="utf-8")
    root = Path(__file__).resolve().parent.parent
    args = [str(answers), str(log), str(portfile), str(certs.cert), str(certs.key)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.key_service", *args],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        end = time.monotonic() + 30
        while not portfile.exists():
            if proc.poll() is not None or time.monotonic() > end:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise AssertionError(f"the key service did not start: {err}")
            time.sleep(0.02)
        yield KeyService(int(portfile.read_text()), answers, log, certs.ca)
    finally:
        proc.kill()
        proc.wait()
        if proc.stderr:
            proc.stderr.close()


# -- the server ---------------------------------------------------------------------------


def _serve(answers: Path, log: Path, portfile: Path, cert: str, key: str) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            auth = self.headers.get("Authorization", "")
            scheme, _, token = auth.partition(" ")
            host = self.headers.get("Host", "")
            entry = {
                "method": self.command,
                "host": host,
                "path": self.path,
                "scheme": scheme,
                "key_sha256": sha(token) if token else None,
                "version": self.request_version,
                # Every header in order, the key's place marked, never the key.
                "headers": [
                    [name, "Bearer sk-…" if name.lower() == "authorization" else value]
                    for name, value in self.headers.items()
                ],
            }
            with _LOCK, log.open("a", encoding="utf-8") as out:
                out.write(json.dumps(entry) + "\n")
            table = json.loads(answers.read_text(encoding="utf-8"))
            answer: Any = table.get(entry["key_sha256"] or "", 401)
            if isinstance(answer, dict):
                answer = answer.get(host, 401)
            if answer == "hang":
                time.sleep(3600)
                return
            status = int(answer)
            body = (
                b'{"object":"list","data":[{"id":"kimi-k2"}]}'
                if status < 300
                else b'{"error":{"type":"invalid_authentication_error"}}'
            )
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    # The handshake runs in each request's thread, so a stuck client blocks no other.
    server.socket = context.wrap_socket(
        server.socket, server_side=True, do_handshake_on_connect=False
    )
    tmp = portfile.with_suffix(".tmp")
    tmp.write_text(str(server.server_address[1]), encoding="utf-8")
    os.replace(tmp, portfile)
    server.serve_forever()


if __name__ == "__main__":
    _serve(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4], sys.argv[5])
