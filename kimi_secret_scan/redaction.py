"""Redaction of key-shaped tokens in text that is not a finding: error messages, and the
paths and ref names a report prints (a file or branch can be named after a key).

Findings redact their own key; this is the net under everything else the tool prints.
Two layers: the shapes below (plain, base64, percent), cheap enough for every line; and the
detectors themselves, run on a text that could hold a key in another spelling they decode
(`sk\\u002d…`, `sk&#45;…`, `sk\\x2d…`, split pieces, a key named by a Kimi setting), so
that whatever the scan can find in a name is never printed whole. A report is rendered with
format escapes (JSON doubles a backslash, HTML escapes `&`), which the detectors no longer
read as the same spelling: the report's net is a Hidden built from the scan's own keys and
the raw names and texts it renders (`hidden_in`), applied to the rendered report.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from kimi_secret_scan.detect.terminal import SEQUENCE_TEXT
from kimi_secret_scan.finding import Finding, redact
from kimi_secret_scan.lazy_regex import lazy_re

if TYPE_CHECKING:
    from kimi_secret_scan.result import ScanResult

# An sk- token with a run of 20+ letters and digits: the shape of every key the detectors
# report, and not of ordinary names such as `sk-learn-notes.md`. No left boundary: a
# branch may be named `xsk-<key>`, and hiding a harmless `task-…` costs nothing.
_KEY_SHAPED = lazy_re(r"sk-(?:kimi-)?[A-Za-z0-9]{20,}")
# A name can hold a key encoded, as the detectors find it in a branch or file name: a run
# of base64 (standard or URL-safe) long enough to encode `sk-` and 20 more characters, or
# a run of percent-encoded text. Such a run is shown as the keys it decodes to, redacted.
_BASE64_RUN = lazy_re(r"[A-Za-z0-9+/_-]{31,}={0,2}")
_PERCENT_RUN = lazy_re(r"(?:%[0-9A-Fa-f]{2}|[A-Za-z0-9._~+-]){23,}")
_PERCENT_SK = lazy_re(r"(?:s|%73)(?:k|%6[bB])(?:-|%2[dD])")
_URLSAFE = str.maketrans("-_", "+/")
# A key behind any spelling of its prefix, read by the detectors or not (`sk&hyphen;kimi-…`,
# `sk\\u{2d}…` once a report's format has doubled its backslash, a spelling no decoder
# knows): `sk` or `kimi`, up to 16 characters that are no line break or quote (`\\x{ 2d }`
# and CSS's `\\2d ` hold blanks), then a run of 40 or more letters and digits (a word of its
# own: its first character follows no letter or digit). The run is hidden, unless it is
# exactly 40 or 64 hex digits of one case: a commit id or a SHA-256, which reports print
# after names, and never a key's body.
_ANY_SPELLING = lazy_re(r"(?:sk|kimi)[^\r\n\"'<>]{0,16}?(?<![A-Za-z0-9])([A-Za-z0-9]{40,})")
# What `sk-` encodes to whatever bytes surround it, at each of its three places in a
# 3-byte group: a run holding none of these cannot hold a key, and is not decoded.
_ENCODED_SK = ("c2st", "NrL", "zay")


def redact_text(text: str, hidden: Hidden | None = None) -> str:
    """`text` with every key-shaped token redacted as findings redact keys, also where a
    name holds one base64- or percent-encoded, and every key the detectors find in it in
    any spelling. `hidden`: a rendered report's net (hidden_in); the text itself is then not
    run through the detectors (what it renders was, before its format escaped it)."""
    if hidden is None and _holds_sequence(text):
        # Terminal sequences inside a key (`sk-kimi-\\e[1m…`): the detectors read it as a
        # terminal shows it, and its whole spelling is hidden (the layers below would hide
        # only its pieces). A report's net (`hidden`) holds such spellings already.
        text = _hide_spans(text, _detected(text))
    if _ESCAPE_HINTS.search(text) or not text.isascii():
        text = _hide_escaped(text)  # first: the other layers would hide only its pieces
    if hidden is not None:
        text = hidden.apply(text)
    elif _worth_detecting(text):
        found = Hidden()
        found.add_text(text)
        text = found.apply(text)
    if "sk-" in text:
        text = _KEY_SHAPED.sub(lambda m: redact(m.group(0)), text)
    if "%" in text and _PERCENT_SK.search(text):
        text = _PERCENT_RUN.sub(_decoded_percent, text)
    if any(sk in text for sk in _ENCODED_SK):
        text = _BASE64_RUN.sub(_decoded_base64, text)
    if "sk" in text or "kimi" in text:
        text = _ANY_SPELLING.sub(_hidden_run, text)
    return text


# A terminal sequence, raw, with its ESC escaped or dropped (as detect/terminal.py reads them).
_CSI_TEXT = lazy_re(SEQUENCE_TEXT)
# What each of them holds (`^[` and an ESC-less code: `[`): most names hold none of these,
# and are not searched (the pattern has no literal start).
_SEQUENCE_BYTES = ("\x1b", "\\", "[", "&", "%", "\x9b", "\x9c", "\x9d")


def _holds_sequence(text: str) -> bool:
    return any(c in text for c in _SEQUENCE_BYTES) and _CSI_TEXT.search(text) is not None


def _hide_spans(text: str, found: list[tuple[str, int, int]]) -> str:
    """`text` with each found key's spelling (start, end) replaced by the redacted key."""
    out: list[str] = []
    done = 0
    for secret, start, end in sorted(found, key=lambda item: item[1]):
        if start < done or not start < end:
            continue
        out += [text[done:start], redact(secret)]
        done = end
    return "".join(out) + text[done:]


# -- keys written with escapes inside them -------------------------------------------------

# A key can be spelled with any of its characters escaped, not only its hyphen: a name
# `sk-kimi-<12>&#81;<51>` is the key to a browser or html.unescape, and its first piece is
# too short for _ANY_SPELLING. A run of a key's characters and escapes (HTML references,
# `%XX` / `%uXXXX`, backslash escapes of every language the detectors read, and a backslash
# before any character as a shell drops it) is decoded, up to three times (a report's format
# escapes once more: `&amp;#81;`, GitHub's `%25`, JSON's `\\`), and read as NFKC with
# invisible characters dropped (what a human sees); each key found in it, or a run of 40+
# letters and digits within 16 characters after `sk` / `kimi`, hides the run's whole spelling.
# Leading zeros of any count (`\u{0000000067}`, `&#000…0107;`), as JavaScript and browsers
# read them, taken whole by `0*` before a digit that is no zero: zeros that the digits after
# could take too made _ANY_ESCAPED try 8 ** n splits of n escapes.
_ESCAPE = (
    r"\$'(?:[^'\\\r\n]|\\[^\r\n]){0,64}'|"
    r"&\#[xX]0*[1-9A-Fa-f][0-9A-Fa-f]{0,11};?|&\#0*[1-9][0-9]{0,11};?"
    r"|&[A-Za-z][A-Za-z0-9]{1,31};?"
    r"|%[uU][0-9A-Fa-f]{4}|%[0-9A-Fa-f]{2}"
    r"|\\(?:[uUxo]\{(?:0*[1-9A-Fa-f][0-9A-Fa-f]{0,7}|0+)\}|N\{[A-Za-z0-9 -]{1,80}\}|u[0-9A-Fa-f]{4}"
    r"|U[0-9A-Fa-f]{8}|x[0-9A-Fa-f]{1,2}|[0-7]{1,3}|[^\r\n])"
)
_ESCAPE_TOKEN = lazy_re(_ESCAPE)
# CSS reads `\\5a ` as `Z`: 1-6 hex digits and one optional blank, where a shell or C reads
# `\\5` (octal) then `a`. Both readings are tried (_escaped_keys).
_CSS_TOKEN = lazy_re(r"\\[0-9A-Fa-f]{1,6}[ \t]?|" + _ESCAPE)
_CSS_HINT = lazy_re(r"\\[0-9A-Fa-f]")
# Escapes that hold a blank or a quote, which _ESCAPED_RUN's characters exclude: Python's
# `\\N{LATIN SMALL LETTER P}`, CSS's `\\5a `, bash's ANSI-C `$'\\x73'`. A run is found in
# the text with these masked (same length), and decoded from the text itself.
_BLANK_ESCAPE = lazy_re(
    r"\\N\{[A-Za-z0-9 -]{1,80}\}|\\[0-9A-Fa-f]{1,6}[ \t]|\$'(?:[^'\\\r\n]|\\[^\r\n]){0,64}'"
)
_ESCAPE_HINTS = lazy_re(r"[&%\\]")
# A run that may spell a key: its characters, escapes, and what an escape is made of (a
# doubled escape's `&amp;#81;` holds `#` and `;`). Invisible characters are part of it.
_ESCAPED_RUN = lazy_re(r"[A-Za-z0-9_#;&%\\{}\u00ad\u200b-\u200f\u2060-\u2064\ufeff-]{24,}")
_DECODE_ROUNDS = 3
_LONGEST_DECODED = 4096
_NON_BLANK = lazy_re(r"[^\s\"'<>]{24,}")
# _ANY_SPELLING with escapes among the run's letters, each one a character whatever it
# decodes to (`&#731O…`, where a browser reads `&#731`, still shows the key to a reader).
_ANY_ESCAPED = lazy_re(
    rf"(?:sk|kimi)[^\r\n\"'<>]{{0,16}}?(?<![A-Za-z0-9])((?:[A-Za-z0-9]|{_ESCAPE}){{40,}})"
)


def _unescape(token: str) -> str:
    import html
    import unicodedata

    if token[0] == "$":
        # bash's `$'…'`: the quotes dropped, the escapes inside decoded.
        return _ESCAPE_TOKEN.sub(lambda m: _unescape(m.group(0)), token[2:-1])
    if token[0] == "&":
        return html.unescape(token if token.endswith(";") else token + ";")
    if token[0] == "%":
        return chr(int(token[2:] if token[1] in "uU" else token[1:], 16))
    kind, rest = token[1], token[2:]
    try:
        if kind == "N":
            return unicodedata.lookup(rest.strip("{}"))
        if kind in "uUx" and rest:
            return chr(int(rest.strip("{}"), 16))
        if kind == "o" and rest:
            return chr(int(rest.strip("{}"), 8))
        if kind in "01234567":
            return chr(int(token[1:], 8))
    except (KeyError, ValueError, OverflowError):
        return token
    # Any other character (`\\n` too): as a shell reads it, and a key across a JSON line
    # break (`\\n`) read whole, as the detectors read a name's lines.
    return kind


def _css_unescape(token: str) -> str:
    digits = token[1:].rstrip(" \t")
    if token[0] == "\\" and digits and all(ch in "0123456789abcdefABCDEF" for ch in digits):
        try:
            return chr(int(digits, 16))
        except (ValueError, OverflowError):
            return token
    return _unescape(token)


def _decoded(text: str, css: bool = False) -> tuple[str, list[int], list[int]]:
    """`text` with each escape decoded once (`css`: a backslash before hex digits as CSS
    reads it), and for each character of the result, the start and end in `text` of what
    spelled it."""
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    for m in (_CSS_TOKEN if css else _ESCAPE_TOKEN).finditer(text):
        out.append(text[pos : m.start()])
        starts.extend(range(pos, m.start()))
        ends.extend(range(pos + 1, m.start() + 1))
        decoded = (_css_unescape if css else _unescape)(m.group(0))
        out.append(decoded)
        starts.extend([m.start()] * len(decoded))
        ends.extend([m.end()] * len(decoded))
        pos = m.end()
    out.append(text[pos:])
    starts.extend(range(pos, len(text)))
    ends.extend(range(pos + 1, len(text) + 1))
    return "".join(out), starts, ends


def _seen(text: str) -> tuple[str, list[int], list[int]]:
    """`text` as a human reads it: NFKC, invisible (format) characters dropped."""
    import unicodedata

    if text.isascii():
        return text, list(range(len(text))), list(range(1, len(text) + 1))
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for i, ch in enumerate(text):
        if unicodedata.category(ch) == "Cf":
            continue
        for seen in unicodedata.normalize("NFKC", ch) if ord(ch) > 0x7F else ch:
            out.append(seen)
            starts.append(i)
            ends.append(i + 1)
    return "".join(out), starts, ends


def _escaped_keys(run: str) -> list[tuple[str, int, int]]:
    """(key or hidden run, start, end in `run`) of each key `run` spells with escapes."""
    # An escape of punctuation (`&#95;`, as the job summary writes `_`) separates as the
    # punctuation would: blanked (same length) before _ANY_ESCAPED reads the run.
    masked = _ESCAPE_TOKEN.sub(_separator, run)
    found = [
        (m.group(1), m.start(1), m.end(1))
        for m in _ANY_ESCAPED.finditer(masked)
        if _ESCAPE_TOKEN.search(m.group(1)) and not _commit_like(m.group(1))
    ]
    found += _decoded_keys(run, css=False)
    if _CSS_HINT.search(run):
        found += _decoded_keys(run, css=True)
    return found


def _decoded_keys(run: str, css: bool) -> list[tuple[str, int, int]]:
    found: list[tuple[str, int, int]] = []
    text, starts, ends = run, list(range(len(run))), list(range(1, len(run) + 1))
    for round_ in range(_DECODE_ROUNDS + 1):
        if round_:
            if not _ESCAPE_HINTS.search(text):
                break
            decoded, d_starts, d_ends = _decoded(text, css)
            if decoded == text:
                break
            text = decoded
            starts = [starts[s] for s in d_starts]
            ends = [ends[e - 1] for e in d_ends]
        seen, s_starts, s_ends = _seen(text)
        spans = [(m.group(0), m.start(), m.end()) for m in _KEY_SHAPED.finditer(seen)]
        spans += [
            (m.group(1), m.start(1), m.end(1))
            for m in _ANY_SPELLING.finditer(seen)
            if not _commit_like(m.group(1))
        ]
        for key, a, b in spans:
            found.append((key, starts[s_starts[a]], ends[s_ends[b - 1] - 1]))
    return found


def _separator(match: re.Match[str]) -> str:
    token = match.group(0)
    if token[0] == "\\" and token[1:2].isdigit():
        # `\7` is BEL to C and Python (octal) but `7` to a shell, which drops the backslash:
        # a character of the key, not a break in it.
        return token
    decoded = _unescape(token)
    if len(decoded) == 1 and decoded.isascii() and not decoded.isalnum():
        return " " * len(match.group(0))
    return match.group(0)


def _escaped_spellings(text: str) -> list[tuple[str, int, int]]:
    """(key, start, end in `text`) of each key spelled with escapes in `text`."""
    out: list[tuple[str, int, int]] = []
    masked = _BLANK_ESCAPE.sub(lambda m: "_" * len(m.group(0)), text) if "\\" in text else text
    for m in _ESCAPED_RUN.finditer(masked):
        run = text[m.start() : m.end()]
        if not _ESCAPE_HINTS.search(run) and run.isascii():
            continue
        if len(run) > _LONGEST_DECODED:
            # No name or excerpt is this long: hidden whole rather than decoded (the time).
            out.append((run, m.start(), m.end()))
            continue
        out += [(k, m.start() + a, m.start() + b) for k, a, b in _escaped_keys(run)]
    if not text.isascii():
        # Letters a person reads as a key's (fullwidth `ｓｋ－ｋｉｍｉ－…`, `&Aopf;`'s 𝔸):
        # each stretch of non-blank text holding any, read as NFKC, then as above.
        for m in _NON_BLANK.finditer(text):
            if m.group(0).isascii() or len(m.group(0)) > _LONGEST_DECODED:
                continue
            seen, starts, ends = _seen(m.group(0))
            if seen == m.group(0):
                continue
            for key, a, b in _escaped_spellings(seen) + [
                (k.group(0), k.start(), k.end()) for k in _KEY_SHAPED.finditer(seen)
            ]:
                out.append((key, m.start() + starts[a], m.start() + ends[b - 1]))
    return out


def _hide_escaped(text: str) -> str:
    spans = _escaped_spellings(text)
    if not spans:
        return text
    # The widest spelling of each place first; a span inside one already hidden is dropped.
    spans.sort(key=lambda s: (s[1], -s[2]))
    out: list[str] = []
    done = 0
    for key, start, end in spans:
        if start < done:
            continue
        out += [text[done:start], redact(key)]
        done = end
    return "".join(out) + text[done:]


def _key_runs(text: str) -> list[str]:
    """The runs _ANY_SPELLING hides in `text`."""
    if "sk" not in text and "kimi" not in text:
        return []
    return [m.group(1) for m in _ANY_SPELLING.finditer(text) if not _commit_like(m.group(1))]


def _commit_like(run: str) -> bool:
    return len(run) in (40, 64) and (_HEX.issuperset(run) or _HEX_UPPER.issuperset(run))


def _hidden_run(match: re.Match[str]) -> str:
    run = match.group(1)
    if _commit_like(run):
        return match.group(0)
    return match.group(0)[: match.start(1) - match.start()] + redact(run)


def _keys_in(decoded: str) -> list[str]:
    return [redact(m.group(0)) for m in _KEY_SHAPED.finditer(decoded)]


def _plain_keys(run: str) -> list[str]:
    from urllib.parse import unquote

    return _KEY_SHAPED.findall(unquote(run, errors="replace")) if "%" in run else []


def _decoded_percent(match: re.Match[str]) -> str:
    from urllib.parse import unquote

    if "%" not in match.group(0):
        return match.group(0)
    keys = _keys_in(unquote(match.group(0), errors="replace"))
    return " ".join(keys) if keys else match.group(0)


def _decoded_base64(match: re.Match[str]) -> str:
    import binascii

    if not any(sk in match.group(0) for sk in _ENCODED_SK):
        return match.group(0)
    run = match.group(0).rstrip("=").translate(_URLSAFE)
    keys: list[str] = []
    # The encoded key may start at any of four places of a run (a name's `/` is base64 too).
    for start in range(4):
        body = run[start:]
        body = body[: len(body) - len(body) % 4]
        try:
            decoded = binascii.a2b_base64(body).decode("latin-1")
        except (binascii.Error, ValueError):
            continue
        keys += [k for k in _keys_in(decoded) if k not in keys]
    return " ".join(keys) if keys else match.group(0)


# -- the detectors' net --------------------------------------------------------------------

# What a spelling the detectors decode needs: `sk` (plain or escaped: `\\x73`, `&#115;`,
# `%73`), a setting named for Kimi or Moonshot, base64 of `sk-`, or UTF-16's NULs; and a
# run of 20 characters a key or its encoding is written with. Text with none of these (a
# summary line, most paths and refs) is not handed to the detectors: the hook stays fast.
_SPELLING_RUN = lazy_re(r"[A-Za-z0-9+/=_\\%&#;-]{20,}")
_SPELLING_HINTS = ("sk", "\\", "&#", "%", "kimi", "moonshot", "\x00", "c2st", "nrl", "zay")
# A key's letters and digits, as every format's escaping leaves them (JSON, HTML, GitHub's
# `%25`, the inert escapes): a run this long of a key is hidden wherever it is printed.
_FRAGMENT = 12
# How many first characters of a spelling Hidden indexes it by (_replace_spellings).
_HEAD = 8
_ALNUM_RUN = lazy_re(rf"[A-Za-z0-9]{{{_FRAGMENT},}}")
_LONG_ALNUM = lazy_re(r"[A-Za-z0-9]{12}")
_HEX = frozenset("0123456789abcdef")
_HEX_UPPER = frozenset("0123456789ABCDEF")


def _worth_detecting(text: str) -> bool:
    if len(text) < 20:
        return False
    if _holds_sequence(text):
        # A key in pieces between terminal sequences (`s` ESC(B `k-…` holds no `sk`).
        return True
    folded = text.lower()
    if not any(hint in folded for hint in _SPELLING_HINTS):
        return False
    if "\x00" in text or '"' in text or "'" in text:
        return True  # UTF-16; a key in string pieces (no long run, but quotes)
    if _SPELLING_RUN.search(text) is None:
        return False
    # A key's body in letters and digits, or written in escapes (most paths have neither).
    return "\\" in text or "%" in text or "&#" in text or _LONG_ALNUM.search(text) is not None


def _detected(text: str) -> list[tuple[str, int, int]]:
    """(key, start, end) of each key the detectors find in `text`, start and end as offsets
    into `text` (end past the key's last character)."""
    from kimi_secret_scan.content import Content
    from kimi_secret_scan.detect.layered import detect
    from kimi_secret_scan.errors import ScanError

    data = text.encode("utf-8", "surrogateescape")
    try:
        # A name without a suffix reads as a configuration file: the broadest search.
        findings = detect(Content(path="name", data=data, metadata=True))
    except ScanError:  # a detector's time limit: the shapes and fragments still apply
        return []
    starts = [0]
    for line in text.split("\n"):
        starts.append(starts[-1] + len(line) + 1)
    out = []
    for f in findings:
        if not 1 <= f.line < len(starts):
            out.append((f.secret, 0, 0))
            continue
        line_start, line_end = starts[f.line - 1], starts[f.line] - 1
        start = min(line_start + f.column - 1, line_end)
        end = line_start + f.end_column - 1
        if not start < end <= line_end:
            end = line_end  # a key in pieces over several lines: its first line, whole
        out.append((f.secret, start, end))
    return out


def _escaped(spelling: str, shown: str) -> dict[str, str]:
    """`spelling` as each report format writes it (as it is, JSON- and HTML-escaped, and in
    a GitHub workflow command: `%` as `%25`), each with `shown` escaped the same way: a
    spelling's redacted form can hold a backslash or `%`, which unescaped would break the
    JSON string or workflow command it replaces a piece of."""
    import json

    def html(text: str) -> str:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    def html_quotes(text: str) -> str:
        return html(text).replace('"', "&quot;").replace("'", "&#x27;")

    forms = {spelling: shown}
    forms.setdefault(json.dumps(spelling)[1:-1], json.dumps(shown)[1:-1])
    forms.setdefault(
        json.dumps(spelling, ensure_ascii=False)[1:-1], json.dumps(shown, ensure_ascii=False)[1:-1]
    )
    forms.setdefault(html(spelling), html(shown))
    forms.setdefault(html_quotes(spelling), html_quotes(shown))
    if _holds_sequence(spelling):
        # A key with terminal sequences inside (its pieces can be shorter than a fragment):
        # also as the text report writes control bytes and the job summary writes Markdown.
        from kimi_secret_scan import inert

        forms.setdefault(inert.text(spelling), inert.text(shown))
        forms.setdefault(inert.markdown(spelling), inert.markdown(shown))
    for form, form_shown in list(forms.items()):
        forms.setdefault(form.replace("%", "%25"), form_shown.replace("%", "%25"))
    return forms


class Hidden:
    """The keys a report must not show, in every spelling it may print them in: each
    spelling found in a raw name or text (and that spelling as each format escapes it), and
    each key's long runs of letters and digits wherever they appear."""

    def __init__(self) -> None:
        self.spellings: dict[str, str] = {}
        self.fragments: dict[str, str] = {}
        self._heads: dict[str, list[str]] = {}
        # The spellings indexed by their first _HEAD characters (each head: the spellings'
        # lengths, longest first), rebuilt when spellings were added (_index).
        self._indexed = -1
        self._by_head: dict[str, list[int]] = {}
        self._short: list[str] = []
        self._first = re.compile("(?!)")

    def __bool__(self) -> bool:
        return bool(self.spellings or self.fragments)

    def add_key(self, secret: str, runs: Iterable[str] | None = None) -> None:
        for run in _ALNUM_RUN.findall(secret) if runs is None else runs:
            if run not in self.fragments:
                self.fragments[run] = redact(run)
                self._heads.setdefault(run[:_FRAGMENT], []).append(run)

    def add_text(self, text: str) -> None:
        """The keys the detectors find in `text` (when it could hold one), and the runs of a
        key behind any spelling of its prefix (_ANY_SPELLING), wherever a format prints them."""
        if _ESCAPE_HINTS.search(text) or not text.isascii():
            # A key spelled with escapes inside its body: the spelling in each format's
            # escaping, and its pieces wherever they are printed.
            for secret, start, end in _escaped_spellings(text):
                spelling = text[start:end]
                self.add_key(secret, [p for p in _ALNUM_RUN.findall(spelling) if p in secret])
                for form, shown in _escaped(spelling, redact(secret)).items():
                    self.spellings.setdefault(form, shown)
        for key_run in _key_runs(text):
            self.add_key(key_run, [key_run])
        if not _worth_detecting(text):
            return
        found = _detected(text)
        if "%" in text and _PERCENT_SK.search(text):
            # Percent runs the shapes above decode (the detectors may not: `%73%6b%2d…`),
            # so that GitHub's `%25` escape of such a run is hidden too.
            for run in _PERCENT_RUN.finditer(text):
                found += [(k, run.start(), run.end()) for k in _plain_keys(run.group(0))]
        for secret, start, end in found:
            self.add_key(secret)
            spelling = text[start:end]
            if len(spelling) < 8:
                continue
            for form, shown in _escaped(spelling, redact(secret)).items():
                self.spellings.setdefault(form, shown)
        # The keys' pieces in the text (a key in string pieces, on several lines, `\\x2d`
        # before its body): each long piece of one is hidden wherever it is printed.
        for secret in {secret for secret, _, _ in found}:
            self.add_key(secret, [p for p in _ALNUM_RUN.findall(text) if p in secret])

    def apply(self, text: str) -> str:
        if self.spellings:
            text = self._replace_spellings(text)
        if self.fragments:
            text = _ALNUM_RUN.sub(self._hide, text)
        return text

    def _index(self) -> None:
        if self._indexed == len(self.spellings):
            return
        by_head: dict[str, set[int]] = {}
        for spelling in self.spellings:
            if len(spelling) >= _HEAD:
                by_head.setdefault(spelling[:_HEAD], set()).add(len(spelling))
        self._by_head = {head: sorted(lengths, reverse=True) for head, lengths in by_head.items()}
        self._short = sorted((s for s in self.spellings if len(s) < _HEAD), key=len, reverse=True)
        firsts = {head[0] for head in self._by_head}
        self._first = re.compile("[" + "".join(re.escape(c) for c in sorted(firsts)) + "]")
        self._indexed = len(self.spellings)

    def _replace_spellings(self, text: str) -> str:
        """Each spelling in `text` replaced, the longest at each place, in one pass: a report
        can hold tens of thousands of names, each with its spellings, and a search of the
        whole report for each spelling took minutes (review h9b #7). Each place whose first
        _HEAD characters begin a spelling is looked up once per length of such spellings."""
        self._index()
        by_head, spellings = self._by_head, self.spellings
        out: list[str] = []
        done = 0
        if by_head:
            for m in self._first.finditer(text):
                i = m.start()
                if i < done:
                    continue
                for length in by_head.get(text[i : i + _HEAD], ()):
                    shown = spellings.get(text[i : i + length])
                    if shown is not None:
                        out += [text[done:i], shown]
                        done = i + length
                        break
        if out:
            text = "".join(out) + text[done:]
        for spelling in self._short:  # none in practice: a spelling this short is not kept
            if spelling in text:
                text = text.replace(spelling, self.spellings[spelling])
        return text

    def _hide(self, match: re.Match[str]) -> str:
        run = match.group(0)
        whole = self.fragments.get(run)
        if whole is not None:
            return whole
        if _HEX.issuperset(run) and len(run) in (40, 64):
            return run  # a commit id or a SHA-256, printed often; never a key's letters
        out: list[str] = []
        i = done = 0
        while i <= len(run) - _FRAGMENT:
            for fragment in self._heads.get(run[i : i + _FRAGMENT], ()):
                if run.startswith(fragment, i):
                    out += [run[done:i], self.fragments[fragment]]
                    i = done = i + len(fragment)
                    break
            else:
                i += 1
        return "".join(out) + run[done:] if out else run


def _places(f: Finding) -> list[str]:
    texts = [f.path, f.note or ""]
    if f.commit is not None:
        texts += [f.commit.author, f.commit.email, f.commit.date]
    return texts


def hidden_in(result: ScanResult, more: Iterable[str] = ()) -> Hidden:
    """The net of a report rendered from `result`: every key it found or allowed, and every
    key the detectors find in the names and texts it prints (paths, people, skipped items and
    their reasons, the scope; `more`: other raw text the report prints)."""
    hidden = Hidden()
    findings = [
        *result.findings,
        *(a.finding for a in result.stats.allowed),
        *(n.finding for n in result.new_suppressions),
    ]
    texts: set[str] = {result.scope, *more}
    for f in findings:
        hidden.add_key(f.secret)
        texts.update(_places(f))
    for n in result.new_suppressions:
        texts.add(n.justification)
    for skipped in result.stats.skipped:
        texts.update((skipped.path, skipped.reason))
    for text in texts:
        hidden.add_text(text)
    return hidden
