"""`--verify`: ask the service that issued each key whether the key still works.

What is sent, and where (docs/verify.md says the same, for users):

- An Open Platform key (`sk-` + 48): `GET /v1/models` on `api.moonshot.cn` and, only when
  that says 401 or 403, on `api.moonshot.ai` (China and international keys live in separate
  accounts; a key whose context names the international platform is tried there first).
  It is revoked only when both regions say 401.
- A Kimi Code key (`sk-kimi-` + 64; or a token of neither shape the context ties to Kimi
  Code; an `sk-` + 48 key never is one): `GET https://api.kimi.com/coding/v1/models`; only
  401 means revoked (its 403s are a usage limit, a client not allowed, or a terminated
  account).
- A key of unknown issuer is sent nowhere, nor an Open Platform-shaped key whose context
  names another provider (`api.openai.com` nearby, an `OPENAI_API_KEY=` setting) and
  nothing ties to Kimi: OpenAI's legacy keys and relay keys share its shape.

The key goes only to the official host of its kind, over HTTPS with certificate and host
name verification, in an `Authorization: Bearer` header: never in a URL, never in a log,
never in an error message (errors are described by their kind, not their text). One
request per distinct key (two when the first region says 401 or 403), at most `WORKERS` at a
time, all within `TOTAL_SECONDS`. Redirects are not followed. Through an `http://`
HTTPS_PROXY the request runs in a CONNECT tunnel: TLS is still end to end with the official
host, so the proxy sees its name, never the key.

A verdict never changes the exit code: a revoked key has leaked all the same.

For tests only: `KIMI_SECRET_SCAN_VERIFY_TEST_ADDRESS` (`127.0.0.1:PORT` or `[::1]:PORT`)
sends every request to that loopback address instead (the Host header still names the
official host), trusting the certificate authority in `KIMI_SECRET_SCAN_VERIFY_TEST_CA`.
Any other address is refused (exit 2): the variable cannot send a key to another machine.

This module imports nothing from the command line or the reports; it loads ssl and
http.client, so it is imported only when --verify is given.
"""

from __future__ import annotations

import http.client
import ipaddress
import os
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from kimi_secret_scan import __version__
from kimi_secret_scan.errors import ScanError
from kimi_secret_scan.finding import Finding, KeyKind
from kimi_secret_scan.threads import started
from kimi_secret_scan.verdict import LIVE, REVOKED, UNKNOWN, Verdict

PLATFORM_CN_HOST = "api.moonshot.cn"
PLATFORM_INTL_HOST = "api.moonshot.ai"
KIMI_CODE_HOST = "api.kimi.com"
# The one path asked on each official host: it lists models, costs nothing, changes nothing.
PATHS = {
    PLATFORM_CN_HOST: "/v1/models",
    PLATFORM_INTL_HOST: "/v1/models",
    KIMI_CODE_HOST: "/coding/v1/models",
}

WORKERS = 4
TOTAL_SECONDS = 10.0
REQUEST_SECONDS = 5.0
_MAX_BODY = 64 * 1024  # the body is not needed; read a little so the server is not cut off
# What may go into a header: the key alphabets. Anything else is not sent (and could not
# be: http.client would put the rejected value into its error message).
_SENDABLE = re.compile(r"sk-[A-Za-z0-9_-]{8,200}")

TEST_ADDRESS_ENV = "KIMI_SECRET_SCAN_VERIFY_TEST_ADDRESS"
TEST_CA_ENV = "KIMI_SECRET_SCAN_VERIFY_TEST_CA"
_LOOPBACK = {ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")}


@dataclass(frozen=True)
class Key:
    """A distinct key to verify: its kind (from its shape and context) decides the hosts."""

    secret: str
    kind: str
    sha256: str
    # The other provider every occurrence's context names (api.openai.com nearby, an
    # OPENAI_API_KEY= setting) with nothing tying it to Kimi: such a key is not sent.
    other_vendor: str | None = None

    def __repr__(self) -> str:  # never the key
        return f"Key(kind={self.kind!r}, sha256={self.sha256[:12]!r})"


# The Open Platform shape: never a Kimi Code key (every one is `sk-kimi-` + 64).
_PLATFORM_SHAPE = re.compile(r"sk-[A-Za-z0-9]{48}")


def hosts_for(key: Key) -> list[str]:
    """The official hosts to ask, in order; none for a key of unknown issuer."""
    if key.secret.startswith("sk-kimi-") or key.kind == KeyKind.KIMI_CODE:
        return [KIMI_CODE_HOST]
    if key.kind == KeyKind.PLATFORM_INTL:
        return [PLATFORM_INTL_HOST, PLATFORM_CN_HOST]
    if key.kind in (KeyKind.PLATFORM_CN, KeyKind.PLATFORM):
        # Region unknown: China first, where most leaked platform keys we have seen belong.
        return [PLATFORM_CN_HOST, PLATFORM_INTL_HOST]
    return []


def distinct_keys(findings: Iterable[Finding]) -> list[Key]:
    """One Key per distinct key, first seen first. Occurrences may disagree on the region
    (context differs by file): both regions named means the region is unknown. An Open
    Platform shape is never Kimi Code's, whatever an occurrence's label says: it is not sent
    to api.kimi.com."""
    kinds: dict[str, set[str]] = {}
    secrets: dict[str, str] = {}
    # One occurrence tied to Kimi (a MOONSHOT_API_KEY= elsewhere) is enough to send it.
    vendors: dict[str, str | None] = {}
    for f in findings:
        sha = f.secret_sha256
        secrets.setdefault(sha, f.secret)
        kinds.setdefault(sha, set()).add(f.key_kind)
        vendors[sha] = f.other_vendor if vendors.get(sha, f.other_vendor) else None
    keys = []
    for sha, secret in secrets.items():
        seen = kinds[sha]
        if secret.startswith("sk-kimi-") or (
            KeyKind.KIMI_CODE in seen and not _PLATFORM_SHAPE.fullmatch(secret)
        ):
            kind = KeyKind.KIMI_CODE
        elif KeyKind.PLATFORM_CN in seen and KeyKind.PLATFORM_INTL not in seen:
            kind = KeyKind.PLATFORM_CN
        elif KeyKind.PLATFORM_INTL in seen and KeyKind.PLATFORM_CN not in seen:
            kind = KeyKind.PLATFORM_INTL
        elif seen & {KeyKind.PLATFORM, KeyKind.PLATFORM_CN, KeyKind.PLATFORM_INTL}:
            kind = KeyKind.PLATFORM
        elif KeyKind.KIMI_CODE in seen and _PLATFORM_SHAPE.fullmatch(secret):
            kind = KeyKind.PLATFORM  # labelled Kimi Code by its context alone
        else:
            kind = KeyKind.UNKNOWN
        keys.append(Key(secret, kind, sha, vendors[sha]))
    return keys


# -- where connections go -----------------------------------------------------------------


@dataclass(frozen=True)
class _Proxy:
    """An `http://` proxy from HTTPS_PROXY: it is asked to CONNECT to the official host and
    then sees only TLS bytes; the certificate checked is still the official host's."""

    host: str
    port: int
    authorization: str | None  # Proxy-Authorization, from user:password in the URL


class _ProxyUnusable(Exception):
    """HTTPS_PROXY is set but cannot be used; the message never quotes its value."""


class _Transport:
    """HTTPS to the official host, or, for tests, to a loopback address (see the module)."""

    def __init__(
        self,
        loopback: tuple[str, int] | None,
        cafile: str | None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.loopback = loopback
        # CERT_REQUIRED and host name checking, with the system's trust store (or, for the
        # test address only, the test's own certificate authority).
        self.context = ssl.create_default_context(cafile=cafile)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        env = os.environ if env is None else env
        self.proxy_url = env.get("https_proxy") or env.get("HTTPS_PROXY") or ""
        self.no_proxy = env.get("no_proxy") or env.get("NO_PROXY") or ""

    def _proxy_for(self, host: str) -> _Proxy | None:
        """The proxy for `host` (the official name, also when the test address is used), as
        curl and Python read the environment: https_proxy, then no_proxy's exceptions."""
        if not self.proxy_url or _bypassed(host, self.no_proxy):
            return None
        return _parse_proxy(self.proxy_url)

    def get(self, host: str, path: str, secret: str, timeout: float) -> int:
        """The HTTP status of `GET path` on `host`, the key in the Authorization header."""
        address, port = self.loopback or (host, 443)
        proxy = self._proxy_for(host)
        if proxy is None:
            conn = http.client.HTTPSConnection(address, port, timeout=timeout, context=self.context)
        else:
            conn = http.client.HTTPSConnection(
                proxy.host, proxy.port, timeout=timeout, context=self.context
            )
            auth = proxy.authorization
            tunnel_headers = {"Proxy-Authorization": auth} if auth else None
            # TLS runs inside the tunnel, checked against `address`: the proxy never sees
            # the request, so never the key.
            conn.set_tunnel(address, port, headers=tunnel_headers)
        try:
            conn.request(
                "GET",
                path,
                headers={
                    "Host": host,
                    "Authorization": f"Bearer {secret}",
                    "Accept": "application/json",
                    "Accept-Encoding": "identity",  # said here, or http.client adds it first
                    "User-Agent": f"kimi-secret-scan/{__version__} (--verify)",
                    "Connection": "close",
                },
            )
            response = conn.getresponse()
            response.read(_MAX_BODY)
            return response.status
        finally:
            conn.close()


def _bypassed(host: str, no_proxy: str) -> bool:
    for entry in no_proxy.replace(" ", "").split(","):
        name = entry.lower().lstrip(".").split(":")[0]
        if entry == "*" or (name and (host == name or host.endswith("." + name))):
            return True
    return False


def _parse_proxy(url: str) -> _Proxy:
    import base64
    from urllib.parse import unquote, urlsplit

    try:
        parts = urlsplit(url if "://" in url else "http://" + url)
        port = parts.port or 80
    except ValueError:
        raise _ProxyUnusable("HTTPS_PROXY is not a valid URL") from None
    if parts.scheme != "http" or not parts.hostname:
        raise _ProxyUnusable("HTTPS_PROXY: only http:// proxies are supported")
    authorization = None
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    return _Proxy(parts.hostname, port, authorization)


def transport(env: Mapping[str, str] | None = None) -> _Transport:
    """The transport for this run. Raises ScanError (exit 2) when the test address names
    anything but a loopback address, or a test CA is given without it."""
    env = os.environ if env is None else env
    address = env.get(TEST_ADDRESS_ENV)
    cafile = env.get(TEST_CA_ENV)
    if not address:
        if cafile:
            raise ScanError(
                f"{TEST_CA_ENV} is set without {TEST_ADDRESS_ENV}: a test certificate "
                "authority is never trusted for the official hosts"
            )
        return _Transport(None, None, env)
    loopback = _parse_loopback(address)
    if not cafile:
        raise ScanError(f"{TEST_ADDRESS_ENV} needs {TEST_CA_ENV} (the test server's CA file)")
    if not os.path.isfile(cafile):
        raise ScanError(f"{TEST_CA_ENV}: {cafile}: no such file")
    return _Transport(loopback, cafile, env)


def _parse_loopback(text: str) -> tuple[str, int]:
    refused = ScanError(
        f"{TEST_ADDRESS_ENV}={text!r} refused: it exists for the test suite and accepts only "
        "127.0.0.1:PORT or [::1]:PORT"
    )
    match = re.fullmatch(r"\[([0-9a-fA-F:.]+)\]:(\d{1,5})|([0-9.]+):(\d{1,5})", text)
    if not match:
        raise refused
    host = match.group(1) or match.group(3)
    port = int(match.group(2) or match.group(4))
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise refused from None
    if ip not in _LOOPBACK or not 0 < port < 65536:
        raise refused
    return str(ip), port


# -- asking -------------------------------------------------------------------------------


def _ask(tr: _Transport, host: str, secret: str, timeout: float) -> tuple[int | None, str, str]:
    """(status, "", "http") for an answer, else (None, reason, "network"). The reason names
    the kind of failure only: an exception's text is never passed on."""
    try:
        return tr.get(host, PATHS[host], secret, timeout), "", "http"
    except _ProxyUnusable as exc:
        return None, str(exc), "network"
    except ssl.SSLCertVerificationError as exc:
        return None, f"certificate not trusted ({exc.verify_message})", "network"
    except ssl.SSLError:
        return None, "TLS handshake failed", "network"
    except TimeoutError:
        return None, f"no answer within {round(timeout, 1):g} s", "network"
    except ConnectionRefusedError:
        return None, "connection refused", "network"
    except socket.gaierror:
        return None, "host name not resolved", "network"
    except ConnectionError as exc:
        return None, f"connection failed ({type(exc).__name__})", "network"
    except OSError as exc:
        # http.client reports a refused CONNECT as OSError("Tunnel connection failed: 407 …").
        first = str(exc.args[0]) if exc.args else ""
        tunnel = re.match(r"Tunnel connection failed: (\d{3})", first)
        if tunnel:
            return None, f"the proxy refused the tunnel (HTTP {tunnel.group(1)})", "network"
        return None, f"network error ({exc.strerror or type(exc).__name__})", "network"
    except http.client.HTTPException as exc:
        return None, f"malformed HTTP answer ({type(exc).__name__})", "network"
    except Exception as exc:  # never let one key's failure, or its message, escape
        return None, f"request failed ({type(exc).__name__})", "network"


def _meaning(status: int, host: str) -> tuple[str, str]:
    if 200 <= status < 300:
        return LIVE, f"HTTP {status}"
    if status == 401:
        return REVOKED, f"HTTP {status}"
    if status == 403:
        # Not proof of revocation. Kimi Code's 403s (its error reference): "only available
        # for Coding Agents", "usage limit" (a leaked key being abused hits it) and "Access
        # terminated"; the first two are a working key. On the platform a 403 is a refusal
        # that is not "invalid authentication", so the other region is asked too.
        if host == KIMI_CODE_HOST:
            return UNKNOWN, "HTTP 403: usage limit, client not allowed or access terminated"
        return UNKNOWN, "HTTP 403: refused, not a revocation"
    if status == 429:
        return UNKNOWN, "HTTP 429 (rate limited)"
    if status >= 500:
        return UNKNOWN, f"HTTP {status} (service error)"
    return UNKNOWN, f"HTTP {status} (unexpected answer)"


def verify_one(key: Key, tr: _Transport, deadline: float) -> Verdict:
    hosts = hosts_for(key)
    if not hosts:
        return Verdict(UNKNOWN, "issuer unknown: not sent anywhere", None, "not-sent")
    if not _SENDABLE.fullmatch(key.secret):
        return Verdict(UNKNOWN, "not a well-formed key: not sent", None, "not-sent")
    if key.other_vendor and not key.secret.startswith("sk-kimi-"):
        return Verdict(UNKNOWN, f"not sent: context names {key.other_vendor}", None, "not-sent")
    earlier = ""  # ", after HTTP 401 on api.moonshot.cn" after a region fallback
    refused: tuple[str, ...] = ()  # the hosts that said 401 (not this key's region)
    for i, host in enumerate(hosts):
        remaining = deadline - time.monotonic()
        if remaining <= 0.05:
            return Verdict(UNKNOWN, "time limit reached" + earlier, None, "deadline", refused)
        timeout = min(REQUEST_SECONDS, remaining)
        status, error, cause = _ask(tr, host, key.secret, timeout)
        if status is None:
            return Verdict(UNKNOWN, error + earlier, host, cause, refused)
        verdict, reason = _meaning(status, host)
        if status in (401, 403) and i + 1 < len(hosts):
            # The key may belong to the other region: China and international keys are
            # separate credential domains, and each says 401 to the other's keys.
            earlier = f", after HTTP {status} on {host}"
            refused += (host,) if status == 401 else ()
            continue
        refused += (host,) if status == 401 else ()
        if verdict == REVOKED and len(refused) < len(hosts):
            # 401 here, but an earlier region refused with 403: not "401 from both".
            verdict, earlier = UNKNOWN, earlier + " (a 403 is not a revocation)"
        return Verdict(verdict, reason + earlier, host, "http", refused)
    raise AssertionError("unreachable: the last host always returns")


def verify(
    keys: Sequence[Key],
    total: float = TOTAL_SECONDS,
    workers: int = WORKERS,
    env: Mapping[str, str] | None = None,
) -> dict[str, Verdict]:
    """A verdict per key, by sha256, within `total` seconds whatever the network does.

    Daemon threads: a request still hanging when time is up is abandoned (its answer is
    ignored) instead of holding the process open.
    """
    tr = transport(env)
    deadline = time.monotonic() + total
    pending = list(reversed(keys))
    done: dict[str, Verdict] = {}
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                if not pending or time.monotonic() >= deadline:
                    return
                key = pending.pop()
            verdict = verify_one(key, tr, deadline)
            with lock:
                done[key.sha256] = verdict

    threads = [
        threading.Thread(target=work, name="kimi-verify", daemon=True)
        for _ in range(max(1, min(workers, len(keys))))
    ]
    for t in threads:
        started(t)
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    with lock:
        verdicts = dict(done)
        pending.clear()  # threads still running start nothing new
    late = Verdict(UNKNOWN, f"time limit ({total:g} s) reached before an answer", None, "deadline")
    return {k.sha256: verdicts.get(k.sha256, late) for k in keys}


def verify_findings(findings: Sequence[Finding]) -> dict[str, Verdict]:
    return verify(distinct_keys(findings))


_PLATFORM_KINDS = {KeyKind.PLATFORM, KeyKind.PLATFORM_CN, KeyKind.PLATFORM_INTL}
_REGION_OF_HOST = {PLATFORM_CN_HOST: KeyKind.PLATFORM_CN, PLATFORM_INTL_HOST: KeyKind.PLATFORM_INTL}


def confirmed_kind(kind: str, verdict: Verdict | None) -> str:
    """An Open Platform key that works on one region belongs to it, whatever the context
    suggested: the report then names that console. A 401 from the region the context named,
    with no verdict from the other (rate limited, a 403, no answer), says the key is not a
    live key of that region: its region is unknown, and the report names both consoles.
    A key both regions refused keeps its kind (each region refuses the other's keys)."""
    if verdict is None or kind not in _PLATFORM_KINDS:
        return kind
    if verdict.status == LIVE:
        return _REGION_OF_HOST.get(verdict.host or "", kind)
    if verdict.status == UNKNOWN and any(_REGION_OF_HOST.get(h) == kind for h in verdict.refused):
        return KeyKind.PLATFORM
    return kind


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def notice(verdicts: Mapping[str, Verdict], total: float = TOTAL_SECONDS) -> str:
    """The one line --verify adds on stderr: counts, or why nothing could be verified."""
    values = list(verdicts.values())
    n = len(values)
    late = sum(v.cause == "deadline" for v in values)
    limit = f"; stopped at the {total:g} s limit" if late else ""
    if n and all(v.status == UNKNOWN and v.cause in ("network", "deadline") for v in values):
        first = next((v.reason for v in values if v.cause == "network"), "no answer")
        return (
            f"kimi-secret-scan: --verify: could not reach the key services ({first}{limit}): "
            f"{_plural(n, 'key')} left unknown. Offline? The exit code does not depend on it."
        )
    live = sum(v.status == LIVE for v in values)
    revoked = sum(v.status == REVOKED for v in values)
    unknown = n - live - revoked
    counts = f"{live} live, {revoked} revoked or invalid, {unknown} unknown"
    withheld = sum(v.cause == "not-sent" for v in values)
    if withheld:
        # Said here too: "asked" alone would read as if every key had been sent.
        counts += f" ({withheld} not sent)"
    if late:
        return (
            f"kimi-secret-scan: --verify: stopped at the {total:g} s limit: {late} of "
            f"{_plural(n, 'key')} not verified; {counts}"
        )
    return f"kimi-secret-scan: --verify: {_plural(n, 'distinct key')} asked: {counts}"
