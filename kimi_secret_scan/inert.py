"""Text from a scanned repository, made inert before a person's terminal or a CI log sees it.

Excerpts, paths, ref names, author names and git's messages are the repository author's
text. Printed raw, an escape sequence in them drives the terminal (OSC 52 writes the
clipboard, OSC 8 makes links, OSC 0 retitles the window, CSI 2J clears the screen), a bidi
override makes a line read differently from what it holds, and under GitHub Actions a line
starting `::` or holding `##[` is a workflow command to the runner. Every text-ish report
goes through here; JSON and SARIF stay exact (JSON escapes them itself).
"""

from __future__ import annotations

import re

from kimi_secret_scan.lazy_regex import lazy_re

# C0 controls but TAB (which only moves to the next tab stop) and LF (the report's own line
# breaks are not in fields; a field's LF is escaped by text()), DEL, C1 controls (0x9b is a
# one-byte CSI to many terminals), and the invisible characters that reorder or mark
# direction: U+061C, U+200E/F, U+202A-U+202E, U+2066-U+2069.
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE = lazy_re(f"[\x00-\x08\x0a-\x1f\x7f-\x9f{_BIDI}]")
_UNSAFE_KEEP_LF = lazy_re(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")


def _html_escape(value: str) -> str:
    # `html.escape(value, quote=False)` without importing `html` (and its `html.entities`,
    # ~1 ms of every hook run, which prints no Markdown or annotation).
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def text(value: str) -> str:
    """A field on one line: every control, DEL and bidi character shown as `\\x1b` or
    `\\u202e`."""
    return _UNSAFE.sub(_escaped, value)


def is_inert(value: str) -> bool:
    return _UNSAFE.search(value) is None


def path(value: str) -> str:
    """A path on one line: as it is when printable, else quoted with escapes (as git quotes
    such names), so a name holding `, ` or a newline cannot pass for two."""
    if value.isprintable():
        return value
    import json  # rare: most paths are printable, and a clean hook run need not load json

    return text(json.dumps(value, ensure_ascii=False))


# What JSON writes raw with ensure_ascii off (it escapes only C0 controls): DEL, C1
# controls, the bidi controls, and U+2028/U+2029 (line breaks to many viewers).
_JSON_UNSAFE = lazy_re(f"[\x7f-\x9f{_BIDI}\u2028\u2029]")


def json_text(rendered: str) -> str:
    """A JSON document (json.dumps, ensure_ascii off) with the characters above written as
    `\\u202e`: a program reads the same values, a terminal or viewer shows no reordering.
    Outside strings a JSON document holds none of them, so the document stays valid."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", rendered)


# GitHub's runner reads a line starting with `::` (after blanks) as a workflow command, and
# `##[` as a log command. Shown with the same escape as a control: still readable, inert.
_WORKFLOW_START = lazy_re(r"^([ \t]*):(?=:)", re.MULTILINE)


def lines(report: str) -> str:
    """A whole text report, line by line: no line can start a workflow command or hold a
    `##[` marker, and no control but the line breaks and colour is left (fields were made
    inert by text(); this is the net under them)."""
    report = _WORKFLOW_START.sub(lambda m: m.group(1) + "\\x3a", report)
    return report.replace("##[", "#\\x23[")


def unstyled(report: str) -> str:
    """lines() for a report with no colour: every stray control escaped as well."""
    return lines(_UNSAFE_KEEP_LF.sub(_escaped, report))


# --- GitHub workflow commands and job-summary Markdown ------------------------------------


def workflow_data(value: str) -> str:
    """A workflow command's message: inert, then GitHub's escapes (`%`, CR, LF)."""
    escaped = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text(escaped).replace("##[", "#\\x23[")


def workflow_property(value: str) -> str:
    """A workflow command's property value: data escapes plus `:` and `,`."""
    return workflow_data(value).replace(":", "%3A").replace(",", "%2C")


# What Markdown (GitHub's: GFM, with math) reads in text, inline HTML's content included:
# emphasis, strike-through, links and images, code spans, table pipes, backslash escapes,
# `$` math, `#` (and `##[`, a log command to the runner), quotes, and what starts an
# autolink: `@` (an email), `:` before `/` (`http://`), the `.` after `www`. Each is written
# as a numeric character reference: shown as itself, read as no syntax (a backslash escape
# would be, inside a code element, shown).
_MARKDOWN_SPECIAL = lazy_re(r"[\\`*_\[\]()~|!#$@\"'<>&]|:(?=/)|(?<=[wW]{3})\.")


def _reference(match: re.Match[str]) -> str:
    char = match.group()
    return {"&": "&amp;", "<": "&lt;", ">": "&gt;"}.get(char) or f"&#{ord(char)};"


def markdown(value: str) -> str:
    """Plain text in a Markdown table cell: no HTML, emphasis, link, autolink, code span or
    `|` can come from it, and it stays on one line."""
    return _MARKDOWN_SPECIAL.sub(_reference, text(value))


def markdown_code(value: str) -> str:
    """Text shown as code in a Markdown table cell. A backtick inside a code span would end
    it and `\\|` is not undone inside one, so this is an HTML <code> element instead; GitHub
    reads Markdown inside it, so its text is escaped as a cell's is (markdown)."""
    return f"<code>{markdown(value)}</code>"


# --- commands to paste ---------------------------------------------------------------------


def shell_word(value: str) -> str:
    """`value` as one bash word naming its exact bytes when pasted. A value that is not
    printable (bytes that are not UTF-8, which reach us as surrogates and a report shows as
    U+FFFD; controls; bidi marks) is written in bash's $'...' with \\xNN escapes: pasted, it
    names the real bytes, and printed, it holds no control for the terminal."""
    if value.isprintable():
        import shlex  # only a plan or a hint prints a command

        return shlex.quote(value)
    out = []
    for ch in value:
        if ch in "\\'":
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        else:
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8", "surrogateescape"))
    return "$'" + "".join(out) + "'"
