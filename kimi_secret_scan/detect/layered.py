"""Layered decoding: scan the content, then every encoded text inside it (escapes, percent,
HTML entities, base64, UTF-16), to MAX_DEPTH, and gather the findings in content order.

The scan is built for whole files and whole blobs: cheap `bytes.find` prefilters decide
whether any regex runs at all, every pattern is linear (possessive or bounded quantifiers,
no nested repetition), and line and column are computed only for the few offsets that
matched. Which lines count (the lines a commit adds) is the source's business, not ours.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable
from typing import NamedTuple

from kimi_secret_scan import decoders
from kimi_secret_scan.content import Content
from kimi_secret_scan.detect import limits, marks, terminal
from kimi_secret_scan.detect.assigned import (
    SETTING_HEAD,
    find_kimi_settings,
    kimi_setting_at,
    moonshot_marks,
    setting_starts,
)
from kimi_secret_scan.detect.context import Patterns, patterns_for
from kimi_secret_scan.detect.excerpt import SpanIndex
from kimi_secret_scan.detect.headers import find_headers
from kimi_secret_scan.detect.layer import Layer, Origin
from kimi_secret_scan.detect.limits import DetectionTimeout
from kimi_secret_scan.detect.tokens import SK_ANY, SK_ENTITY, find_sk_tokens, find_split_heads
from kimi_secret_scan.finding import Finding
from kimi_secret_scan.settings import DEFAULT_SETTINGS, DetectorSettings

_Found = list[tuple[int, Finding]]


def _scan_layer(
    scan: Layer,
    found: _Found,
    first_sk: re.Match[bytes] | None = None,
    b64_starts: list[int] | None = None,
    folded: bytes | None = None,
    names: tuple[list[int], bool] | None = None,
    escaped: bool = True,
    cut: bool = True,
) -> None:
    """Findings of one layer, then of every encoded text inside it, to MAX_DEPTH.

    The top layer comes with what _detect_in already knows of it (its first `sk`, its base64
    starts, its lower-cased copy if one was made, `names`: see _names, `escaped`: False
    when the marks say it holds no escaped `sk` and hyphen, and `cut`: False when they say it
    holds no `sk-` and no `s` or `sk` before a terminal sequence's start, so no token a
    sequence cuts); a decoded layer finds them here."""
    data = scan.data
    deep = scan.depth > 0
    timeout = limits.REGEX_TIMEOUT
    if deep:
        first_sk = SK_ANY.search(data)
    hits: list[tuple[int, Callable[[bytes, int], decoders.Decoded]]] = []
    if first_sk is not None:
        # No "sk-" lies before SK_ANY's first match (it would be one).
        if first_sk.group() == b"sk-" or data.find(b"sk-", first_sk.start()) >= 0:
            # A plain `sk-` whose body goes on escaped (`sk-kimi-abc\u0044…`) is decoded
            # from the escape on: no escaped hyphen (SK_ESCAPED) triggers it. Found in the
            # token pass itself, so content without such a token pays nothing more.
            cut_short: list[int] = []
            find_sk_tokens(scan, found, cut_short)
            if scan.depth < limits.MAX_DEPTH:
                for end in cut_short:
                    body_window = decoders.body_escape_window(data, end)
                    if body_window is not None:
                        hits.append((end, body_window))
        if escaped and scan.depth < limits.MAX_DEPTH:
            at = first_sk.start()
            for match in decoders.SK_ESCAPED.finditer(data, at):
                percent = b"%" in match.group()  # after `sk` or `sk-kimi`
                hits.append(
                    (match.start(), decoders.percent_window if percent else decoders.escape_window)
                )
            for match in SK_ENTITY.finditer(data, at):
                hits.append((match.start(), decoders.entity_window))
    if deep and scan.depth < limits.MAX_DEPTH:
        for match in decoders.SK_FULLY_ESCAPED.finditer(data, timeout=timeout):
            head = match.group()[:1]
            window = (
                decoders.percent_window
                if head == b"%"
                else decoders.entity_window
                if head == b"&"
                else decoders.escape_window
            )
            hits.append((match.start(), window))
    if scan.depth < limits.MAX_DEPTH and (deep or cut):
        # A key cut by terminal colour codes (`sk-kimi-ESC[mESC[K…`: grep's coloured match).
        hits.extend((pos, terminal.window) for pos in terminal.hits(data))
    _open_windows(scan, hits, found)
    if names is None:
        folded = data.lower() if folded is None else folded
        names = _names(folded, b"kimi" in folded, b"moonshot" in folded)
    settings, endpoint = names
    encoded: list[int] = []
    if settings:
        find_kimi_settings(scan, found, settings, encoded)
    if settings or endpoint:
        find_split_heads(scan, found)
    if endpoint:
        find_headers(scan, found, data.lower() if folded is None else folded)
    if scan.depth < limits.MAX_DEPTH:
        starts = (
            b64_starts
            if b64_starts is not None
            else decoders.base64_starts(data, deep=True, broad=True)
        )
        if encoded:
            # A Kimi-named setting's base64 of an sk- token (find_kimi_settings).
            starts = starts + encoded
        for decoded in decoders.base64_windows(data, starts):
            _sublayer(scan, decoded, found)


def _open_windows(
    scan: Layer,
    hits: list[tuple[int, Callable[[bytes, int], decoders.Decoded]]],
    found: _Found,
) -> None:
    """Decode a window around each escaped `sk`, once per stretch of text.

    A hit inside a window already decoded the same way is skipped unless it lies near the
    window's end (where its key could be cut off), so a megabyte of escapes decodes each
    byte about once, not once per escape.
    """
    covered: dict[Callable[[bytes, int], decoders.Decoded], int] = {}
    opened = 0
    budget = decoders.window_budget(len(scan.data))
    for pos, window in sorted(hits, key=lambda hit: hit[0]):
        if pos < covered.get(window, -1):
            continue
        if opened >= budget:
            raise decoders.WindowLimit(opened)
        decoded = window(scan.data, pos)
        opened += 1
        end = decoded.positions[-1]
        # A window that ends where the text or its line ends cuts no key off there: the
        # hits up to its end are read in it. (Kept back by a token's length whatever its
        # end, every hit of content shorter than that opened a window of its own, each of
        # them opening as many a layer deeper: 1 KiB of `sk%252d` took 6 s, a megabyte
        # minutes.)
        cut = end < len(scan.data) and scan.data[end : end + 1] not in (b"\n", b"\r")
        covered[window] = end - 2 * limits.MAX_TOKEN if cut else end
        _sublayer(scan, decoded, found)


def _sublayer(scan: Layer, decoded: decoders.Decoded, found: _Found) -> None:
    origin = Origin(scan, decoded.positions, decoded.encoding)
    _scan_layer(Layer(scan.content, decoded.data, scan.patterns, origin), found)


# Configuration, data and scripts: where base64 values are often credentials (Kubernetes
# Secrets, Docker configs, .env files, HTTP requests, notebooks) and few of a history's
# bytes are. Base64 is searched there, in any content that names Moonshot or a Kimi
# endpoint, and in any that holds the base64 of a long Kimi name (`sk-kimi-`,
# `KIMI_API_KEY`, …: decoders.named_triggers); not in the rest (source code, documents,
# media: most of the bytes), where the four short searches for its spellings would make
# detect() about three times slower.
_CONFIG_SUFFIXES = frozenset(
    [
        "yaml",
        "yml",
        "json",
        "jsonc",
        "json5",
        "env",
        "toml",
        "ini",
        "cfg",
        "conf",
        "config",
        "properties",
        "txt",
        "http",
        "rest",
        "ipynb",
        "sh",
        "bash",
        "zsh",
        "fish",
        "ps1",
        "psm1",
        "bat",
        "cmd",
        "tf",
        "tfvars",
        "hcl",
        "xml",
        "plist",
        "secret",
        "secrets",
        "npmrc",
        "netrc",
        "pypirc",
        "dockercfg",
        "dockerconfigjson",
        "log",
        "csv",
        "tsv",
        "b64",
        "base64",
    ]
)


@functools.lru_cache(maxsize=4096)  # a history names the same paths again and again
def _is_config(path: str) -> bool:
    name = path.rsplit("/", 1)[-1].lower()
    if name.startswith(".env") or "." not in name.lstrip("."):
        return True  # .env.local; Dockerfile, .npmrc and other names without a suffix
    return name.rsplit(".", 1)[-1] in _CONFIG_SUFFIXES


_WIDE_MARKS = (b"\xff\xfe", b"\xfe\xff")


def _names_in_base64(data: bytes, marked: int | None) -> bool:
    """Does content whose base64 is not searched otherwise (program source) hold the base64
    of a long plaintext naming Kimi or Moonshot (decoders.named_triggers)? Then its base64
    is searched as a configuration file's is. From the marks where they are on."""
    if marked is not None:
        return bool(marked & marks.NAMED_BASE64)
    return decoders.holds_named_base64(data)


def _names(folded: bytes, kimi: bool, moonshot: bool) -> tuple[list[int], bool]:
    """Where a setting named for Kimi may start, and whether a Kimi endpoint is named (every
    ENDPOINT match holds "moonshot." or "kimi.com": header tokens, reported only with an
    ENDPOINT nearby, are looked for only then). `kimi`, `moonshot`: whether the lower-cased
    content holds each name."""
    if not (kimi or moonshot):
        return [], False
    starts, kimi_com = setting_starts(folded, kimi, moonshot)
    return starts, kimi_com or (moonshot and b"moonshot." in folded)


# `sk` and a hyphen in any spelling SK_ANY knows, in lower case (a superset of SK_ANY's
# matches, which SK_ANY decides after), found from the `k`: `re` scans for a literal's first
# letter with memchr, and "k" is rare in text. The first pattern also stops at any "kimi":
# one pass that content naming neither (most of a history) ends with. The others, run over
# the rest of content that holds either, find the first `sk` and, of the kimis, only those
# that name kimi.com or may start a setting (a Kimi project names Kimi on most lines).
# Compiled on first use, the others only when content holds either.
_SK_TAIL = (
    rb"(?<=sk)(?:-|"
    + decoders.HYPHEN_PERCENT
    + rb"|"
    + decoders.HYPHEN_ESCAPE
    + rb"|"
    + decoders.HYPHEN_ENTITY
    + rb")"
)


@functools.cache
def _k_first() -> Callable[..., re.Match[bytes] | None]:
    return re.compile(rb"k(?:" + _SK_TAIL + rb"|imi)").search


@functools.cache
def _k_passes() -> tuple[Callable[..., re.Match[bytes] | None], ...]:
    return (
        re.compile(rb"k(?:" + _SK_TAIL + rb"|imi(?:(\.com)|" + SETTING_HEAD + rb"))").search,
        re.compile(rb"kimi(?:(\.com)|" + SETTING_HEAD + rb")").search,
        re.compile(b"kimi").search,
    )


# Short content (commit messages, most headers) that holds none of the words any pass of the
# survey or of the base64 search starts from ends after one search of its lower-cased copy
# (a quarter of the survey's cost on a commit message: its calls cost more than its passes).
# Each alternative is a superset of what the survey's passes find, lower-cased: `sk` and a
# hyphen in any spelling and "kimi" (the `k` pass: "kimi.com" and the settings' heads start
# with it), "moonshot" (moonshot_marks), and the base64 triggers, which base64_starts finds
# in the data as they are. An alternation is slow per byte (see the `k` pass): short only.
_SHORT = 256


@functools.cache
def _short_gate() -> Callable[..., re.Match[bytes] | None]:
    triggers = [needle for needle, _, _ in decoders.SK_TRIGGERS] + [decoders.JSON_TRIGGER]
    # (The triggers a line break cuts, lower-cased as the data searched is: their escaped
    # letters are letters still, `\r?\n[ \t]*` holds none.)
    wrapped = [pattern.lower() for pattern, _, _ in decoders.WRAPPED_TRIGGERS]
    return re.compile(
        rb"k(?:"
        + _SK_TAIL
        + rb"|imi)|moonshot|"
        + b"|".join(re.escape(needle.lower()) for needle in triggers)
        + b"|"
        + b"|".join(wrapped)
    ).search


class _Survey(NamedTuple):
    first_sk: re.Match[bytes] | None  # SK_ANY.search(data)
    kimi: bool  # "kimi" in the lower-cased data
    moonshot: bool  # "moonshot" in it
    names: tuple[list[int], bool]  # as _names gives


def _survey(data: bytes, folded: bytes) -> _Survey:
    """What the gates and the detectors ask of the top layer, in as few passes as it takes:
    two for content without `sk`, "kimi" and "moonshot" (after the lower-cased copy); SK_ANY
    searches only from the first `sk` candidate on."""
    first_sk, kimi, starts, kimi_com = _k_survey(data, folded)
    moonshot, more, moonshot_dot = moonshot_marks(folded)
    if more:
        starts = sorted(starts + more) if starts else more
    endpoint = kimi_com or moonshot_dot
    return _Survey(first_sk, kimi, moonshot, (starts, endpoint))


def _k_survey(data: bytes, folded: bytes) -> tuple[re.Match[bytes] | None, bool, list[int], bool]:
    """The `k` pass: SK_ANY's first match, whether "kimi" is named, where a Kimi setting may
    start, whether kimi.com is named."""
    hit = _k_first()(folded)
    first_sk = None
    kimi = False
    starts: list[int] = []
    kimi_com = False
    if hit is not None:
        every, kimi_marks, kimi_search = _k_passes()
        search = every
        match = search(folded, hit.start())
        while match is not None:
            pos = match.start()
            if folded[pos + 1 : pos + 2] == b"i":
                kimi = True
                com = match.group(1) is not None
                kimi_com = kimi_com or com
                if kimi_setting_at(folded, pos, com):
                    starts.append(pos)
            else:
                # The first `sk` candidate: no SK_ANY match lies before it, and SK_ANY's own
                # search from here finds its first match (at once, unless the case differs).
                # The rest of the pass looks for kimis only: a file full of "task-" costs no
                # Python loop per hyphen.
                first_sk = SK_ANY.search(data, pos - 1)
                search = kimi_marks
            match = search(folded, pos + 1)
        kimi = kimi or hit.group() == b"kimi" or kimi_search(folded, hit.start()) is not None
    return first_sk, kimi, starts, kimi_com


def _marked_survey(data: bytes, found: int) -> tuple[_Survey, bytes | None]:
    """The survey, given the content's marks (`marks.marks`): each pass runs only where its
    mark says it may find something (what it finds otherwise is known: nothing), and the
    lower-cased copy is made only for them. Returns the copy too (None if none was made)."""
    folded = None
    first_sk = None
    kimi = bool(found & marks.KIMI)
    starts: list[int] = []
    kimi_com = False
    if found & marks.KIMI_NAMED:
        folded = data.lower()
        first_sk, kimi, starts, kimi_com = _k_survey(data, folded)
    elif found & marks.SK:
        # No Kimi setting's head and no kimi.com: of the `k` pass, only SK_ANY's first match
        # is wanted (it is what the pass finds from its first `sk` candidate), and SK_ANY
        # finds it in the data itself, without the copy.
        first_sk = SK_ANY.search(data)
    moonshot = bool(found & marks.MOONSHOT)
    moonshot_dot = False
    if found & marks.MOONSHOT_NAMED:
        if folded is None:
            folded = data.lower()
        moonshot, more, moonshot_dot = moonshot_marks(folded)
        if more:
            starts = sorted(starts + more) if starts else more
    return _Survey(first_sk, kimi, moonshot, (starts, kimi_com or moonshot_dot)), folded


# Off in tests/test_fast_path.py's full path, which checks that the shortcut it names
# finds what the full scan finds.
_SKIP_EMPTY_LAYER = True


def _detect_in(
    content: Content, data: bytes, patterns: Patterns, label: str | None
) -> list[Finding]:
    # The cheap gates first, each computed once and handed on to the detectors: most content
    # holds nothing to look at, and is left after three passes (the lower-cased copy, `sk` or
    # "kimi", "moonshot") without building any scan state.
    # One lower-cased copy serves every case-insensitive word test (cheaper than a search per
    # case variant), and the settings' and headers' searches after them.
    # Where the marks are on (a history audit), they tell which passes can find anything,
    # and most content needs neither the copy nor any pass (project words: the plain way).
    marked = None if patterns.folded_words else marks.marks(data)
    # Whether a token terminal sequences cut may be here: the marks' SK holds every `sk-` and
    # every `s`/`sk` before a sequence's start (terminal.may_hold's searches of every blob
    # that reaches the survey cost a history ~0.2 s of CPU on psf/requests).
    cut = marked is None or bool(marked & marks.SK)
    folded: bytes | None
    if marked is None:
        folded = data.lower()
        if (
            len(data) < _SHORT
            and not patterns.folded_words
            and _short_gate()(folded) is None
            and not terminal.cuts_sk(data)
        ):
            return []
        first_sk, kimi_word, moonshot, names = _survey(data, folded)
    else:
        (first_sk, kimi_word, moonshot, names), folded = _marked_survey(data, marked)
    # Content that names Moonshot, a Kimi endpoint (kimi.com, which the survey found) or a
    # project word is read as Kimi context.
    kimi = (
        content.kimi_context
        or moonshot
        or names[1]
        or (folded is not None and any(word in folded for word in patterns.folded_words))
    )
    broad = kimi or _is_config(content.path) or _names_in_base64(data, marked)
    b64_starts = (
        decoders.base64_starts(
            data, deep=False, broad=broad, wrapped=marks.may_hold_wrapped_base64(data)
        )
        if broad and marks.may_hold_base64(data)
        else []
    )
    if (
        first_sk is None
        and not b64_starts
        and not kimi
        and not kimi_word
        and not (cut and terminal.cuts_sk(data))
    ):
        return []
    if (
        _SKIP_EMPTY_LAYER
        and first_sk is None
        and not b64_starts
        and not names[0]
        and not names[1]
        and content.path[-6:].lower() != ".ipynb"
        and not (cut and terminal.cuts_sk(data))  # `sk` ESC[m `-kimi-…`: no `sk-` as written
    ):
        # Kimi or Moonshot is named, but nothing _scan_layer starts from is here: no `sk`
        # (tokens, escaped hyphens), no setting's head, no endpoint (headers), no base64,
        # and it is no notebook. Most files of a Kimi project (kimi-cli's history: 12,700
        # of 20,000 blobs): the scan state it would build finds nothing.
        return []
    found: _Found = []
    scan = Layer(content, data, patterns, label=label)
    try:
        escaped = marked is None or bool(marked & marks.SK_ESCAPED)
        _scan_layer(scan, found, first_sk, b64_starts, folded, names, escaped, cut)
        if content.path[-6:].lower() == ".ipynb":
            # A line nbformat joins from two strings: read joined, as Jupyter shows it
            # (imported only here: the hook's start-up does not pay for it).
            from kimi_secret_scan.detect import notebook

            start = len(found)
            for decoded in notebook.split_lists(data):
                _sublayer(scan, decoded, found)
            notebook.as_pieces(scan.spans, found, start)
    except TimeoutError:
        raise DetectionTimeout(
            content.path,
            f"a pattern took longer than {limits.REGEX_TIMEOUT:g} s; content not scanned",
        ) from None
    except decoders.WindowLimit as exc:
        raise DetectionTimeout(
            content.path, f"{exc} (a decoder's limit for this size); content not scanned whole"
        ) from None
    # Excerpts show every key of their line in place (its decoded or joined form), so no
    # excerpt shows a neighbouring key in an encoded or split spelling.
    spans = scan.spans
    index = SpanIndex(data, spans.values())
    found = [
        (offset, dataclasses.replace(f, excerpt=index.excerpt(spans[id(f)]))) for offset, f in found
    ]
    found.sort(key=lambda item: (item[0], item[1].encoding is not None))
    # The same key at the same place may be reached plainly and through a decoder (a JSON
    # string with other escapes in it): keep the first, plainest report.
    # A plain token that an escape cut short (`sk-kimi-abc\x44…`) is the start of the key
    # its decoded window holds at the same place: only the whole key is reported.
    at_offset: dict[int, list[str]] = {}
    for offset, finding in found:
        at_offset.setdefault(offset, []).append(finding.secret)
    seen: set[tuple[int, str]] = set()
    out: list[Finding] = []
    for offset, finding in found:
        key = (offset, finding.secret)
        longer = at_offset[offset]
        if len(longer) > 1 and any(
            len(other) > len(finding.secret) and other.startswith(finding.secret)
            for other in longer
        ):
            continue
        if key not in seen:
            seen.add(key)
            out.append(finding)
    return out


def holds_nothing(path: str, data: bytes, settings: DetectorSettings = DEFAULT_SETTINGS) -> bool:
    """True only when detect() of `data` at `path` finds nothing, known from its first
    cheap gates alone (the same ones, in the same order, _detect_in takes): for a history's
    readers, which then build no Content for most objects (15,000 blobs and 11,000 commit
    messages of psf/requests: ~2 µs each). False says nothing: detect() decides."""
    if data[:2] in _WIDE_MARKS or b"\x00" in data:
        return False  # read as UTF-16/32 or in wide stretches: detect()'s own way
    if patterns_for(settings).folded_words:
        return False
    marked = marks.marks(data)
    if marked is None:
        # (`sk` ESC[m `-kimi-…`, a key cut by colour codes, spells no `sk-` as written; the
        # marks' SK holds it.)
        return (
            len(data) < _SHORT
            and _short_gate()(data.lower()) is None
            and not terminal.cuts_sk(data)
        )
    # No mark: every pass of the survey finds nothing (_marked_survey), no Kimi context;
    # base64 is then searched only in a configuration file or where the base64 of a Kimi
    # name is (`broad`).
    named = bool(marked & marks.NAMED_BASE64)
    marked &= ~marks.NAMED_BASE64
    if not marked:
        return not ((named or _is_config(path)) and marks.may_hold_base64(data))
    # Only "kimi" or "moonshot" named: nothing _scan_layer starts from (_SKIP_EMPTY_LAYER),
    # unless base64 may be (searched where Moonshot is named, in a configuration file, or
    # beside a Kimi name's base64) or it is a notebook. Most blobs of a Kimi project.
    if marked & ~(marks.KIMI | marks.MOONSHOT) or not _SKIP_EMPTY_LAYER:
        return False
    if path[-6:].lower() == ".ipynb":
        return False
    broad = bool(marked & marks.MOONSHOT) or named or _is_config(path)
    return not (broad and marks.may_hold_base64(data))


def detect(content: Content, settings: DetectorSettings = DEFAULT_SETTINGS) -> list[Finding]:
    """Every key in the content, in offset order, before any filter.

    Raises DetectionTimeout when a pattern exceeds its time limit on this content.
    """
    patterns = patterns_for(settings)
    data = content.data
    if data[:2] in _WIDE_MARKS or b"\x00" in data:
        wide = decoders.text_encoding(data)
        if wide is not None:
            # UTF-16 / UTF-32 text is read as the characters it holds (lines and columns are
            # the same in both spellings). The bytes are read as they are too: a binary file
            # may merely look wide, and must not hide an ASCII key by doing so.
            text = decoders.transcode(data, wide)
            found = _detect_in(content, text, patterns, wide.rsplit("-", 1)[0])
            keys = {f.secret for f in found}
            raw = _detect_in(content, data, patterns, None)
            return found + [f for f in raw if f.secret not in keys]
        regions = decoders.wide_regions(data)
        if regions:
            # Narrow text with UTF-16 stretches in it (text appended by another program):
            # each stretch read as the characters it holds, the rest as it is (so lines and
            # columns are the file's characters'). A key the bytes also show as they are is
            # reported with the bytes' decoding, not as UTF-16.
            raw = _detect_in(content, data, patterns, None)
            plain = {f.secret: f.encoding for f in raw}
            text = decoders.transcode_regions(data, regions)
            found = [
                dataclasses.replace(f, encoding=plain[f.secret]) if f.secret in plain else f
                for f in _detect_in(content, text, patterns, "utf-16")
            ]
            keys = {f.secret for f in found}
            return found + [f for f in raw if f.secret not in keys]
    # Nearly every blob of a history holds nothing: _detect_in decides that with the fewest,
    # fastest searches, each made once.
    return _detect_in(content, data, patterns, None)
