"""Settings named for Kimi over more than one line, or by a command: a Kubernetes
`- name: KIMI_API_KEY` / `value: …` pair, a YAML `kimi:` section's `api_key:`, a TOML
`[moonshot]` table's `api_key =`, a LiteLLM entry whose `model:` is `moonshot/…`, and
`setx KIMI_API_KEY …` / `gh secret set KIMI_API_KEY --body …`. What such a setting holds is
judged as a `KIMI_API_KEY=` value is (review h10c: a relay's key passed in each of them,
where only `NAME=` on one line was read). Asked only for a token that is no exact Kimi
shape (tokens.kimi_setting), so a clean file pays nothing; each question reads at most
_LINES_BACK lines before the token and as many after."""

from __future__ import annotations

from kimi_secret_scan.lazy_regex import lazy_re

_KIMI = rb"(?:kimi|moonshot)"
# A command that sets a variable or secret named for Kimi from its next argument.
_COMMAND = lazy_re(
    rb"(?i)(?:^|[;&|\s])(?:setx|gh[ \t]+(?:secret|variable)[ \t]+set|vercel[ \t]+env[ \t]+add"
    rb"|netlify[ \t]+env:set|doppler[ \t]+secrets[ \t]+set|railway[ \t]+variables[ \t]+set)"
    rb"(?:[ \t]+-{1,2}[\w-]+(?:[ \t]+[\w./][\w./-]*)?)*?"
    rb"[ \t]+[\"']?" + _KIMI + rb"[\w.-]{0,40}[\"']?"
    rb"(?:[ \t]+(?:--body|-b|/m))?[ \t]+[\"']?$"
)
# The line up to a value: its indent (a YAML list item's `- ` counts as indent), a key and
# its assignment, and an opening quote.
_KEY_LINE = lazy_re(rb"([ \t]*(?:-[ \t]+)?)[\"']?([\w.-]{1,40})[\"']?[ \t]*(?::|=)[ \t]*[\"']?$")
# Keys whose value is a credential (of the section or entry they are in).
_CREDENTIAL = lazy_re(rb"(?i)(?:api[_-]?)?(?:key|token|secret|password|auth[_-]?token)")
_LINE = lazy_re(rb"([ \t]*(?:-[ \t]+)?)[\"']?([\w./-]{1,60})[\"']?[ \t]*(?::|=)[ \t]*(.*)")
_NAMED = lazy_re(rb"(?i)[\"']?" + _KIMI + rb"[\w.-]{0,40}?(?:key|token|secret)[\w.-]{0,16}[\"']?")
_SECTION = lazy_re(rb"[ \t]*\[\[?([^\]\r\n]{1,80})\]\]?[ \t]*(?:#.*)?")
_KIMI_WORD = lazy_re(rb"(?i)" + _KIMI)
# The model a LiteLLM / OpenAI-compatible entry names: Kimi's or Moonshot's own.
_KIMI_MODEL = lazy_re(rb"(?i)[\"']?(?:" + _KIMI + rb"|openai/kimi)[\w./-]*[\"']?[ \t]*(?:#.*)?")
_LINES_BACK = 12
_LONGEST_LINE = 1000


def _lines_before(data: bytes, line_start: int) -> list[bytes]:
    """Up to _LINES_BACK lines before the one starting at `line_start`, nearest first."""
    out: list[bytes] = []
    end = line_start - 1
    while end >= 0 and len(out) < _LINES_BACK:
        start = data.rfind(b"\n", max(0, end - _LONGEST_LINE), end) + 1
        if start == 0 and end > _LONGEST_LINE:
            break  # no line of a setting's file: stop (and copy no megabyte line per token)
        out.append(data[start:end].rstrip(b"\r"))
        end = start - 1
    return out


def _lines_after(data: bytes, line_end: int) -> list[bytes]:
    out: list[bytes] = []
    start = line_end + 1
    while 0 < start <= len(data) and len(out) < _LINES_BACK:
        end = data.find(b"\n", start, start + _LONGEST_LINE)
        if end < 0 and len(data) - start > _LONGEST_LINE:
            break
        end = len(data) if end < 0 else end
        out.append(data[start:end].rstrip(b"\r"))
        start = end + 1
    return out


def _indent(lead: bytes) -> int:
    return len(lead.expandtabs(2))


def in_kimi_block(data: bytes, start: int) -> bool:
    """Is the value at `start` (a token, already known to follow nothing named for Kimi on
    its line) a setting named for Kimi by a command or by the lines around it?"""
    # Looked for within the 200 bytes a setting's line may hold before its value: a search
    # to the content's start, and a copy of it, for every token of a long line made a line
    # of 2 MiB of tokens take time growing with the square of its length.
    line_start = data.rfind(b"\n", max(0, start - 201), start) + 1
    if start - line_start > 200:
        return False
    prefix = data[line_start:start]
    if _COMMAND.search(prefix) is not None:
        return True
    head = _KEY_LINE.fullmatch(prefix)
    if head is None:
        return False
    indent, key = _indent(head.group(1)), head.group(2)
    before = [
        line for line in _lines_before(data, line_start) if line.strip()[:1] not in (b"", b"#")
    ]
    if key.lower() == b"value":
        # Kubernetes: `- name: KIMI_API_KEY` on the line before, in the same item.
        found = _LINE.fullmatch(before[0]) if before else None
        return (
            found is not None
            and found.group(2) == b"name"
            and _indent(found.group(1)) == indent
            and _NAMED.fullmatch(found.group(3).rstrip()) is not None
        )
    if _CREDENTIAL.fullmatch(key) is None:
        return False
    # TOML: the table the key is in (`[moonshot]`, `[providers.kimi]`).
    for line in before:
        section = _SECTION.fullmatch(line)
        if section is not None:
            return _KIMI_WORD.search(section.group(1)) is not None
    # YAML: the section the key is in (`kimi:`), or a sibling in its entry naming a Kimi
    # model (`model: moonshot/kimi-k2`), before or after it.
    in_item = head.group(1).strip() == b"-"  # siblings before it belong to other items
    for line in before:
        found = _LINE.fullmatch(line)
        if found is None:
            break
        level = _indent(found.group(1))
        if level > indent:
            continue  # inside an earlier sibling
        if level < indent:
            # The section it is in: named for Kimi, or only a sibling after may say so.
            if (
                found.group(3).strip() in (b"", b"|", b">")
                and _KIMI_WORD.search(found.group(2)) is not None
            ):
                return True
            break
        if not in_item and _sibling_model(found.group(2), found.group(3)):
            return True
        in_item = in_item or found.group(1).strip() == b"-"
    line_end = data.find(b"\n", start)
    for line in _lines_after(data, len(data) if line_end < 0 else line_end):
        found = _LINE.fullmatch(line)
        if found is None or _indent(found.group(1)) < indent:
            break
        if _indent(found.group(1)) > indent:
            continue
        if found.group(1).strip() == b"-":
            break  # the next item
        if _sibling_model(found.group(2), found.group(3)):
            return True
    return False


def _sibling_model(key: bytes, value: bytes) -> bool:
    """Is `key: value` an entry's `model: moonshot/…` (or `provider: moonshot`)?"""
    return (
        key.lower() in (b"model", b"provider", b"custom_llm_provider")
        and _KIMI_MODEL.fullmatch(value.strip()) is not None
    )
