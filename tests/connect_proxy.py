"""A CONNECT proxy on 127.0.0.1 for the --verify tests: it tunnels only to loopback
addresses, logs each CONNECT, and keeps every byte the client sent through the tunnel, so
a test can show the key never crosses the proxy in the clear.

    python -m tests.connect_proxy LOG WIRE PORTFILE
"""

from __future__ import annotations

import json
import os
import select
import socket
import socketserver
import sys
import threading
from pathlib import Path

_LOCK = threading.Lock()


def main(log: Path, wire: Path, portfile: Path) -> None:
    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            client: socket.socket = self.request
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                chunk = client.recv(4096)
                if not chunk:
                    return
                head += chunk
            lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
            with _LOCK, log.open("a", encoding="utf-8") as out:
                entry = {
                    "method": method,
                    "target": target,
                    "proxy_authorization": headers.get("Proxy-Authorization"),
                }
                out.write(json.dumps(entry) + "\n")
            host, _, port = target.rpartition(":")
            if method != "CONNECT" or host not in ("127.0.0.1", "[::1]"):
                client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            if headers.get("Proxy-Authorization") == "Basic ZGVueTpkZW55":  # deny:deny
                client.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
                return
            upstream = socket.create_connection((host.strip("[]"), int(port)))
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            sockets = [client, upstream]
            try:
                while True:
                    ready, _, _ = select.select(sockets, [], [], 30)
                    if not ready:
                        return
                    for s in ready:
                        data = s.recv(65536)
                        if not data:
                            return
                        if s is client:
                            with _LOCK, wire.open("ab") as out:
                                out.write(data)
                            upstream.sendall(data)
                        else:
                            client.sendall(data)
            finally:
                upstream.close()

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tmp = portfile.with_suffix(".tmp")
    tmp.write_text(str(server.server_address[1]), encoding="utf-8")
    os.replace(tmp, portfile)
    server.serve_forever()


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
