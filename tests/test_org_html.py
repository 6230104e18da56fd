"""The merged HTML report, rendered by a real browser (Debian's headless Chromium): what the
DOM holds, that it is self-contained, that hostile names stay text, and that no key is whole."""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from kimi_secret_scan.finding import redact
from tests.gitrepo import GitRepo, run_cli
from tests.keygen import kimi_code_key, moonshot_key

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HOSTILE_DIR = 'evil<img src=x onerror="alert(1)">'
HOSTILE_PATH = "<script>alert(1)</script>.env"
HOSTILE_REF = "x<svg/onload=alert(1)>"


def chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run installs it (apt-get install chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    profile = tmp / "profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def having(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [
            a
            for t, a in self.tags
            if t == tag and all(attrs[k] in (a.get(k) or "").split() for k in attrs)
        ]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    tmp = tmp_path_factory.mktemp("html")
    shared, own, hidden = moonshot_key(), kimi_code_key(), moonshot_key()
    names = ["billing", "deploy", HOSTILE_DIR, "clean"]
    for name in names:
        repo = GitRepo(tmp / "repos" / name)
        repo.commit_file("README.md", "hi\n")
        if name != "clean":
            repo.commit_file(".env", f"MOONSHOT_API_KEY={shared}\n")
        if name == "deploy":
            repo.git("rm", "-q", ".env")
            repo.commit("drop the env file")
            repo.commit_file("ci/deploy.py", f'KIMI_API_KEY = "{own}"\n')
        if name == HOSTILE_DIR:
            repo.git("checkout", "-q", "-b", HOSTILE_REF)
            repo.commit_file(HOSTILE_PATH, f"MOONSHOT_API_KEY={hidden}\n")
            repo.git("checkout", "-q", "main")
    out = tmp / "out"
    audit = run_cli(
        "audit",
        *(str(tmp / "repos" / n) for n in names),
        "--output-dir",
        str(out),
        cwd=tmp,
        env={"CI": "true"},
    )
    assert audit.code == 1, audit.all
    page = tmp / "audit.html"
    merged = run_cli("merge", str(out), "--format", "html", "--output", str(page), cwd=tmp)
    assert merged.code == 1, merged.all
    return page, {"shared": shared, "own": own, "hidden": hidden}


def test_the_browser_shows_counts_tables_and_timelines(
    report: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    page, keys = report
    dom = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr
    parsed = Elements()
    parsed.feed(dom.stdout)
    sections = parsed.having("section", **{"class": "key"})
    assert len(sections) == 3
    by_count = sorted(int(s["data-repositories"] or 0) for s in sections)
    assert by_count == [1, 1, 3]  # the shared key: one group, three repositories
    assert len(parsed.having("tr", **{"class": "location"})) == 5
    assert len(parsed.having("svg", **{"class": "timeline"})) == 3
    bars = parsed.having("g", **{"class": "bar"})
    assert len(bars) == 5
    states = sorted((b["class"] or "").split()[1] for b in bars)
    assert states == ["offbranch", "present", "present", "present", "removed"]
    assert '<div class="card" id="count-keys"><b>3</b>' in dom.stdout
    assert '<div class="card" id="count-repositories"><b>3</b>of 4 repositories' in dom.stdout
    assert len(parsed.having("input")) >= 4  # the checklist
    # The key index links to each key's section, and only inside the page.
    links = [a["href"] for a in parsed.having("a")]
    ids = {a.get("id") for _, a in parsed.tags}
    assert len(links) == 3
    assert all(str(link).startswith("#") and str(link)[1:] in ids for link in links)
    for key in keys.values():
        assert key not in dom.stdout
        assert redact(key) in dom.stdout


def test_hostile_names_stay_text_and_nothing_is_loaded(
    report: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    page, keys = report
    html = page.read_text(encoding="utf-8")
    for key in keys.values():
        assert key not in html
    dom = chromium(tmp_path, "--dump-dom", page.as_uri())
    parsed = Elements()
    parsed.feed(dom.stdout)
    tags = {t for t, _ in parsed.tags}
    assert not tags & {"script", "img", "iframe", "link", "object", "embed"}
    assert not [a for _, a in parsed.tags if any(k.startswith("on") for k in a)]
    assert not [a for _, a in parsed.tags if a.get("src")]
    assert all(str(a.get("href")).startswith("#") for t, a in parsed.tags if "href" in a)
    assert "evil&lt;img src=x onerror=" in dom.stdout
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.env" in dom.stdout
    assert "x&lt;svg/onload=alert(1)&gt;" in dom.stdout


def test_screenshot(report: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    page, _ = report
    shot = tmp_path / "audit.png"
    run = chromium(tmp_path, "--window-size=1200,1600", f"--screenshot={shot}", page.as_uri())
    assert run.returncode == 0, run.stderr
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
