"""Dense input: files holding tens of thousands of keys are scanned in time linear in the
file (issue 11). The findings are asserted, never the time: a quadratic scan of these files
takes minutes and hits the 20 s pattern limit, which would report the file as skipped."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from kimi_secret_scan import rules
from kimi_secret_scan.content import Content
from kimi_secret_scan.detect.excerpt import Span, SpanIndex, excerpt_spans
from kimi_secret_scan.finding import Confidence, Finding, redact, redact_neighbours
from kimi_secret_scan.scan import scan
from tests import keygen


def _dense(count: int, seed: int) -> tuple[bytes, str, int]:
    """`count` key-shaped tokens one per line, and one key with Kimi context in the middle."""
    rng = random.Random(seed)
    lines = [f"KEY_{i}={keygen.moonshot_key(rng)}\n" for i in range(count)]
    key = keygen.moonshot_key(rng)
    middle = count // 2
    lines.insert(
        middle, f"# Kimi\nMOONSHOT_BASE_URL=https://api.moonshot.cn/v1\nMOONSHOT_API_KEY={key}\n"
    )
    return "".join(lines).encode(), key, middle + 3


def test_45000_tokens_and_one_real_key() -> None:
    data, key, line = _dense(45_000, seed=3)
    assert 2_500_000 < len(data) < 3_000_000
    result = scan("files", "dense", [Content(path="tokens.txt", data=data)])
    assert result.stats.skipped == []
    findings = result.findings
    assert len(findings) == 45_001
    assert len({f.secret for f in findings}) == 45_001
    real = [f for f in findings if f.secret == key]
    assert len(real) == 1
    assert (real[0].line, real[0].column, real[0].confidence) == (line, 18, Confidence.HIGH)
    assert real[0].key_kind == "moonshot-platform-cn"
    # Every finding's excerpt is its own line, with its own key.
    assert all(f.excerpt.endswith(f.secret) for f in findings)
    assert [f.line for f in findings] == sorted(f.line for f in findings)


def test_thousands_of_keys_on_one_line_each_excerpt_hides_the_others() -> None:
    rng = random.Random(5)
    keys = [keygen.moonshot_key(rng) if i % 3 else keygen.kimi_code_key(rng) for i in range(3000)]
    text = "moonshot = [" + ", ".join(f'"{k}"' for k in keys) + "]\n"
    result = scan("files", "dense", [Content(path="keys.py", data=text.encode())])
    findings = result.findings
    assert [f.secret for f in findings] == keys
    for f in findings:
        assert f.line == 1
        assert text.index(f.secret) + 1 == f.column
        assert f.end_column == f.column + len(f.secret)
        # The excerpt shows the finding's key, and every other key on it redacted.
        assert f.secret in f.excerpt
        others = [k for k in keys if k != f.secret and k[:16] in f.excerpt]
        assert others == []
        assert f.excerpt.count("…") >= 2


def test_neighbours_sharing_a_head_or_without_sk_are_redacted() -> None:
    rng = random.Random(6)
    head = "sk-" + keygen.body(30, rng)
    a = head + keygen.body(18, rng)  # an Open Platform key
    b = head + keygen.body(9, rng)  # a shorter token with the same first 33 characters
    c = keygen.body(40, rng)  # a header token, no sk-
    line = f"x={a} y={b} Authorization: Bearer {c}"
    findings = [
        Finding(rules.MOONSHOT_KEY, Confidence.HIGH, "p", "f", 1, 3, 54, a, excerpt=line),
        Finding(rules.KIMI_ASSIGNED_KEY, Confidence.MEDIUM, "p", "f", 1, 1, 1, b, excerpt=line),
        Finding(rules.AUTH_HEADER_KEY, Confidence.MEDIUM, "p", "f", 1, 1, 1, c, excerpt=line),
    ]
    out = redact_neighbours(findings)
    for f in out:
        assert f.secret in f.excerpt
        for other in {a, b, c} - {f.secret}:
            assert other not in f.excerpt
            assert redact(other) in f.excerpt


def _redact_neighbours_reference(findings: list[Finding]) -> list[str]:
    """The quadratic definition: every other secret replaced wherever it occurs."""
    secrets = {f.secret for f in findings}
    out = []
    for f in findings:
        excerpt = f.excerpt
        for other in secrets - {f.secret}:
            excerpt = excerpt.replace(other, redact(other))
        out.append(excerpt)
    return out


@settings(max_examples=150, deadline=None)
@given(
    shapes=st.lists(
        st.sampled_from(["moonshot", "kimi", "header", "short"]), min_size=2, max_size=6
    ),
    layout=st.lists(
        st.tuples(st.integers(0, 5), st.sampled_from([" ", "=", '"', "x", "\\n", ", "])),
        max_size=12,
    ),
    seed=st.integers(0, 2**32),
)
def test_linear_neighbour_redaction_matches_the_definition(
    shapes: list[str], layout: list[tuple[int, str]], seed: int
) -> None:
    rng = random.Random(seed)
    make = {
        "moonshot": lambda: keygen.moonshot_key(rng),
        "kimi": lambda: keygen.kimi_code_key(rng),
        "header": lambda: keygen.body(30, rng),
        "short": lambda: "sk-" + keygen.body(24, rng),
    }
    secrets = [make[s]() for s in shapes]
    excerpts = []
    for i, secret in enumerate(secrets):
        parts = [secret]  # each excerpt holds its own key, and others as the layout says
        for index, glue in layout:
            parts.append(glue + secrets[(i + index) % len(secrets)])
        rng.shuffle(parts)
        excerpts.append("".join(parts))
    findings = [
        Finding(rules.KIMI_ASSIGNED_KEY, Confidence.MEDIUM, "p", "f", 1, 1, 1, s, excerpt=e)
        for s, e in zip(secrets, excerpts, strict=True)
    ]
    got = [f.excerpt for f in redact_neighbours(findings)]
    assert got == _redact_neighbours_reference(findings)


@settings(max_examples=150, deadline=None)
@given(
    lines=st.lists(st.integers(0, 400), min_size=1, max_size=6),
    picks=st.lists(st.tuples(st.integers(0, 10_000), st.integers(5, 90)), min_size=1, max_size=25),
)
def test_indexed_excerpts_match_excerpts_over_every_key(
    lines: list[int], picks: list[tuple[int, int]]
) -> None:
    data = b"\n".join(b"a" * n for n in lines)
    starts = [i + 1 for i, b in enumerate(data) if b == 10]
    line_starts = [0, *starts]

    def bounds(offset: int) -> tuple[int, int]:
        start = max(s for s in line_starts if s <= offset)
        end = data.find(b"\n", offset)
        return start, len(data) if end < 0 else end

    spans: list[Span] = []
    taken: set[int] = set()
    for at, length in picks:
        if not data:
            break
        start = at % len(data)
        end = min(len(data), start + length)
        if taken & set(range(start, end)) or end <= start:
            continue
        taken |= set(range(start, end))
        line_start, line_end = bounds(start)
        spans.append(Span(start, end, f"<{start}>", line_start, line_end))
    index = SpanIndex(data, spans)
    ordered = sorted(spans, key=lambda sp: sp.start)
    for focus in spans:
        assert index.excerpt(focus) == excerpt_spans(data, focus, ordered)
