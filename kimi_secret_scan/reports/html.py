"""The merged organisation report as one self-contained HTML file, for people who read
audits rather than logs.

No script, no font, no image, no link to load: styles are inline and the timelines are
inline SVG, so the file works from disk, as a CI artifact, and under a strict CSP. Every
string from a report (repository names, paths, refs, messages) is attacker-controlled input
and is escaped where it is written; keys arrive redacted and are never written whole.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any

from kimi_secret_scan import __version__, inert, remediation
from kimi_secret_scan.reports.merged import default_branch, narrowed_what

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;
max-width:1100px;padding:0 1em;color:#1d1d1f;background:#fff}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.15em;margin:1.6em 0 .4em}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.92em}
.cards{display:flex;flex-wrap:wrap;gap:.8em;margin:1em 0}
.card{border:1px solid #d8d8dd;border-radius:8px;padding:.6em 1em;min-width:9em}
.card b{display:block;font-size:1.7em}
table{border-collapse:collapse;width:100%;margin:.4em 0}
th,td{border-bottom:1px solid #e4e4e8;padding:.35em .5em;text-align:left;vertical-align:top}
th{background:#f5f5f7;font-weight:600}
.badge{border-radius:4px;padding:.1em .45em;font-size:.85em;font-weight:600}
.live{background:#ffd7d5;color:#8a1109}.revoked{background:#d7f5dd;color:#135c25}
.unknown,.unverified{background:#ececf0;color:#444}
.present{color:#8a1109;font-weight:600}.removed{color:#135c25}.offbranch{color:#8a5a00}
section.key{border-top:2px solid #e4e4e8;margin-top:1.5em}
.checklist li{margin:.3em 0}.failed{color:#8a1109}
svg text{font:11px system-ui,sans-serif;fill:#333}
"""

_BAR = {"present": "#d93025", "removed": "#8ab4a0", "offbranch": "#e8a33d", "reflog": "#b0b0b8"}
# In the default branch's history, in none of its files now (a commit message): the colour
# of a removal, still there until purged.
_BAR["history"] = _BAR["removed"]


def _kind(key: dict[str, Any]) -> str:
    """The kind as people read it (`Kimi Code key`), not its JSON name (`kimi-code`)."""
    kind = str(key.get("key_kind"))
    return remediation.KIND_NAMES.get(kind, kind)


def _e(value: object) -> str:
    # Names, paths and refs are the repositories' authors' text: HTML-escaped, and their
    # controls and bidi overrides shown escaped, so a name cannot read as another.
    return escape(inert.text(str(value if value is not None else "")), quote=True)


def _date(text: object) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _state(repo: dict[str, Any]) -> str:
    if repo["in_default_branch"]:
        return "present"
    if repo.get("removed"):
        return "removed"
    if repo["refs"] and repo.get("on_default_branch"):
        return "history"
    return "offbranch" if repo["refs"] else "reflog"


def _state_text(repo: dict[str, Any]) -> str:
    from kimi_secret_scan.reports.merged import earlier_text

    earlier = earlier_text(repo)  # an earlier run's finding, not seen now: said as such
    if earlier:
        return f'<span class="offbranch">{_e(earlier)}</span>'
    state = _state(repo)
    branch = _e(default_branch(repo))
    if state == "present":
        paths = ", ".join(f"<code>{_e(p)}</code>" for p in repo["head_paths"])
        return f'<span class="present">still in {branch}</span>: {paths}'
    if state == "removed":
        removed = repo["removed"]
        return (
            f'<span class="removed">removed from {branch}</span> by '
            f"<code>{_e(str(removed.get('commit'))[:12])}</code> ({_e(removed.get('date'))})"
        )
    refs = ", ".join(f"<code>{_e(r)}</code>" for r in repo["refs"])
    if state == "history":
        return (
            f'<span class="removed">in {branch}\'s history, not in its files now</span>: only '
            f"a rewrite of it removes the key; reachable from {refs}"
        )
    unknown = not repo.get("default_branch") and repo.get("default_branch_note")
    if state == "offbranch" and unknown:
        note = _e(repo["default_branch_note"])
        return (
            f'<span class="offbranch">default branch unknown</span> ({note}); reachable from {refs}'
        )
    if state == "offbranch":
        return f'<span class="offbranch">not in {branch}</span>; reachable from {refs}'
    return '<span class="offbranch">only in reflogs</span>'


def _timeline(key: dict[str, Any], start: dt.datetime, now: dt.datetime) -> str:
    """One bar per repository, from first appearance to removal (or to now)."""
    width, label_w, row = 900, 260, 22
    span = max((now - start).total_seconds(), 1.0)
    rows = []
    for i, repo in enumerate(key["repositories"]):
        first = _date((repo.get("first_appearance") or {}).get("date")) or start
        state = _state(repo)
        end = _date((repo.get("removed") or {}).get("date")) if state == "removed" else None
        end = end or now

        def x(when: dt.datetime) -> float:
            return label_w + (width - label_w - 10) * (when - start).total_seconds() / span

        x0, x1 = x(first), max(x(end), x(first) + 3)
        y = 8 + i * row
        name = str(repo["repository"])
        short = name if len(name) <= 38 else "…" + name[-37:]
        title = f"{name}: {first.date()} → " + (
            str(end.date()) if state == "removed" else "still reachable"
        )
        rows.append(
            f'<g class="bar {state}" data-repository="{_e(name)}">'
            f"<title>{_e(title)}</title>"
            f'<text x="4" y="{y + 12}">{_e(short)}</text>'
            f'<rect x="{x0:.1f}" y="{y}" width="{x1 - x0:.1f}" height="14" rx="3" '
            f'fill="{_BAR[state]}"/></g>'
        )
    height = 8 + len(key["repositories"]) * row + 22
    axis_y = height - 8
    axis = (
        f'<text x="{label_w}" y="{axis_y}">{_e(start.date())}</text>'
        f'<text x="{width - 10}" y="{axis_y}" text-anchor="end">{_e(now.date())}</text>'
    )
    return (
        f'<svg class="timeline" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>Exposure timeline of key #{key['number']}</title>{''.join(rows)}{axis}</svg>"
    )


def _verdict(key: dict[str, Any]) -> tuple[str, str]:
    v = key.get("verification") or {}
    status = str(v.get("status") or "unverified")
    label = {"unverified": "not verified"}.get(status, status)
    return status, label


def _key_section(key: dict[str, Any], start: dt.datetime, now: dt.datetime) -> str:
    status, label = _verdict(key)
    rows = []
    for repo in key["repositories"]:
        first = repo.get("first_appearance") or {}
        locations = "<br>".join(
            f"<code>{_e(loc['path'])}:{_e(loc['line'])}</code> "
            f"<span class=mono>{_e(str(loc.get('commit') or '')[:12])}</span>"
            + (f"<br><small>{_e(loc['note'])}</small>" if loc.get("note") else "")
            for loc in repo["locations"]
        )
        rows.append(
            f'<tr class="location" data-repository="{_e(repo["repository"])}">'
            f"<td>{_e(repo['repository'])}</td>"
            f'<td><span title="{_e(first.get("date"))}">{_e(str(first.get("date") or "")[:10])}'
            f"</span><br><code>{_e(first.get('path'))}:"
            f"{_e(first.get('line'))}</code> "
            f"<span class=mono>{_e(str(first.get('commit') or '')[:12])}</span></td>"
            f"<td>{_state_text(repo)}</td><td>{locations}</td></tr>"
        )
    n = len(key["repositories"])
    reason = (key.get("verification") or {}).get("reason")
    return (
        f'<section class="key" id="key-{_e(key["number"])}" data-repositories="{n}" '
        f'data-status="{_e(status)}">'
        f"<h2>#{_e(key['number'])} <code class=redacted>{_e(key['key'])}</code> "
        f"<small>{_e(_kind(key))}</small> "
        f'<span class="badge {_e(status)}"'
        + (f' title="{_e(reason)}"' if reason else "")
        + f">{_e(label)}</span></h2>"
        f"<p>In {n} repositor{'y' if n == 1 else 'ies'}. SHA-256 "
        f"<code>{_e(key['secret_sha256'])}</code></p>"
        "<table><thead><tr><th>Repository</th><th>First seen</th><th>Now</th>"
        f"<th>Locations</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        f"{_timeline(key, start, now)}</section>"
    )


def _duplicate(d: dict[str, Any]) -> str:
    if d.get("report"):
        return (
            f'<li class="duplicate"><code>{_e(d["target"])}</code>: another report of '
            f"<code>{_e(d['same_as'])}</code>, not merged (named first: "
            f"<code>{_e(d['report'])}</code>)</li>"
        )
    return (
        f'<li class="duplicate"><code>{_e(d["target"])}</code>: the same target as '
        f"<code>{_e(d['same_as'])}</code> once normalised: audited once, as the latter</li>"
    )


def render(merged: dict[str, Any], now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    s = merged["summary"]
    dates = [
        d
        for k in merged["keys"]
        for r in k["repositories"]
        if (d := _date((r.get("first_appearance") or {}).get("date"))) is not None
    ]
    start = min(dates, default=now)
    now = max(now, *dates) if dates else now
    cards = [
        ("keys", s["keys"], "distinct keys"),
        ("repositories", s["repositories_affected"], f"of {s['audited']} repositories affected"),
        ("live", s["live"], "live"),
        ("revoked", s["revoked"], "revoked"),
        ("unverified", s["unverified"] + s["unknown"], "unknown or not verified"),
    ]
    if s["failed"]:
        cards.append(("failed", s["failed"], "could not be audited"))
    if s.get("incomplete"):
        cards.append(("incomplete", s["incomplete"], "read incompletely"))
    if s.get("narrowed"):
        cards.append(("narrowed", s["narrowed"], "of part of a history only"))
    if s.get("conflicting"):
        cards.append(("conflicting", s["conflicting"], "reports not merged"))
    card_html = "".join(
        f'<div class="card" id="count-{name}"><b>{_e(value)}</b>{_e(text)}</div>'
        for name, value, text in cards
    )
    kinds = ", ".join(f"{_e(n)} × <code>{_e(kind)}</code>" for kind, n in s["kinds"].items())
    steps = merged["plan"]["revoke"] + merged["plan"]["purge"]
    checklist = "".join(
        f'<li><label><input type="checkbox"> {_e(step)}</label></li>' for step in steps
    )
    failed = (
        "".join(
            f'<li class="failed"><code>{_e(f["repository"])}</code>: {_e(f["error"])}</li>'
            for f in merged["failed"]
        )
        + "".join(
            f'<li class="failed"><code>{_e(p["repository"])}</code>: {_e(p["unreadable"])} '
            f"object(s) could not be read or scanned ({_e(p['reason'])})</li>"
            for p in merged.get("incomplete", [])
        )
        + "".join(
            f'<li class="failed"><code>{_e(p["repository"])}</code>: '
            f"{_e(narrowed_what(p))}; the rest of its history was not audited</li>"
            for p in merged.get("narrowed", [])
        )
        + "".join(_duplicate(d) for d in merged.get("duplicates", []))
        + "".join(
            f'<li class="skipped"><code>{_e(p["repository"])}</code>: {_e(p["skipped"])} '
            f"item(s) skipped by a choice ({_e(p['reason'])}); its report lists them</li>"
            for p in merged.get("skipped", [])
        )
    )
    body = [
        "<h1>Kimi / Moonshot key audit</h1>",
        f"<p>{_e(s['audited'])} repositories audited, {_e(s['locations'])} locations. "
        f"Keys are shown redacted; match them by SHA-256. Generated {_e(now.date())} by "
        f"kimi-secret-scan {_e(__version__)}.</p>",
        f'<section id="summary"><div class="cards">{card_html}</div>'
        + (f"<p>Kinds: {kinds}</p>" if kinds else "")
        + "</section>",
    ]
    if merged["keys"]:
        index = "".join(
            f'<li><a href="#key-{_e(k["number"])}">#{_e(k["number"])} '
            f"<code>{_e(k['key'])}</code></a> {_e(_kind(k))}, "
            f"{_e(_verdict(k)[1])}, in {len(k['repositories'])} "
            f"repositor{'y' if len(k['repositories']) == 1 else 'ies'}</li>"
            for k in merged["keys"]
        )
        body.append(f'<nav id="keys"><h2>Keys</h2><ul>{index}</ul></nav>')
    if steps:
        body.append(
            '<section id="plan"><h2>Remediation checklist: revoke each key once, then purge '
            f'each repository</h2><ol class="checklist">{checklist}</ol></section>'
        )
    if failed:
        body.append(
            '<section id="failed"><h2>Could not be audited, not whole, named twice, or skipped'
            "</h2>"
            f"<ul>{failed}</ul>"
            "</section>"
        )
    if merged["keys"]:
        body.append(
            '<p class="legend">Timelines, from first commit to now: '
            f'<span style="color:{_BAR["present"]}">■</span> still in the default branch, '
            f'<span style="color:{_BAR["removed"]}">■</span> removed from it (still in its '
            "history until purged, as a key in a commit message of it), "
            f'<span style="color:{_BAR["offbranch"]}">■</span> only on '
            "other refs.</p>"
        )
    body.extend(_key_section(k, start, now) for k in merged["keys"])
    if not merged["keys"]:
        clean = "No Kimi keys found."
        if not s.get("complete", True):
            # Not "clean": what was not audited or read may hold one.
            clean = "No Kimi keys found in what was read; the audit is incomplete (above)."
        body.append(f'<p id="clean">{clean}</p>')
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">"
        f"<title>Kimi key audit: {_e(s['keys'])} keys</title><style>{_STYLE}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )
