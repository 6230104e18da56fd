"""`--format github`: workflow annotations on file and line, and the job summary."""

from __future__ import annotations

import re
from pathlib import Path

from tests.gitrepo import GitRepo, run_cli
from tests.remotes import key_line

_ANNOTATION = re.compile(r"^::(error|warning) ((?:[a-zA-Z]+=[^,:]*,?)+)::(.+)$")


def _props(line: str) -> dict[str, str]:
    match = _ANNOTATION.match(line)
    assert match, line
    return dict(part.split("=", 1) for part in match.group(2).split(","))


def test_annotations_point_at_file_line_and_column(repo: GitRepo, tmp_path: Path) -> None:
    base = repo.commit_file("README.md", "hi\n")
    line, key = key_line()
    added = repo.commit_file("odd, name: here.py", "a = 1\n\n" + line)
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    run = run_cli(
        "range",
        f"{base}..HEAD",
        "--format",
        "github",
        cwd=repo.path,
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert run.code == 1, run.all
    lines = run.out.splitlines()
    assert len(lines) == 2
    props = _props(lines[0])
    assert lines[0].startswith("::error ")
    # `,` and `:` would end a property value: they are escaped.
    assert props["file"] == "odd%2C name%3A here.py"
    assert (props["line"], props["col"]) == ("3", "17")
    assert props["endColumn"] == str(17 + len(key))
    assert "Kimi Code API key" in props["title"]
    message = _ANNOTATION.match(lines[0]).group(3)  # type: ignore[union-attr]
    assert key[:12] in message and key not in run.all
    assert added[:12] in message and "Kimi Code Console" in message
    assert lines[1].startswith("kimi-secret-scan: 1 finding")

    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n## kimi-secret-scan")  # appended, not replaced
    assert "| <code>odd, name: here.py:3:17</code> |" in text and key not in text


def test_clean_run_and_skipped_content(repo: GitRepo, tmp_path: Path) -> None:
    base = repo.commit_file("a.txt", "a\n")
    sub = GitRepo(tmp_path / "sub")
    sub_head = sub.commit_file("x", "x\n")
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{sub_head},vendor/sub")
    repo.commit("submodule")
    summary = tmp_path / "summary.md"
    run = run_cli(
        "range",
        f"{base}..HEAD",
        "--format",
        "github",
        cwd=repo.path,
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert run.code == 0, run.all
    assert run.out.splitlines()[0].startswith("::notice title=skipped::")
    assert "vendor/sub" in run.out
    assert "no Kimi keys found" in run.out
    assert "no Kimi keys found" in summary.read_text(encoding="utf-8")


def test_without_step_summary_nothing_is_written(repo: GitRepo) -> None:
    line, _ = key_line()
    repo.write("k.py", line)
    repo.add("k.py")
    run = run_cli("staged", "--format", "github", cwd=repo.path, env={"GITHUB_STEP_SUMMARY": ""})
    assert run.code == 1
    assert run.out.startswith("::error file=k.py,line=1,")
    assert not list(repo.path.glob("*.md"))


def test_annotations_and_text_on_one_terminal_say_the_summary_once(repo: GitRepo) -> None:
    line, _ = key_line()
    repo.write("app.py", line)
    run = run_cli("files", ".", "--report", "github", "--report", "text", cwd=repo.path)
    assert run.code == 1, run.all
    assert run.out.startswith("::error ")
    summaries = [ln for ln in run.out.splitlines() if ln.startswith("kimi-secret-scan: 1 finding")]
    assert len(summaries) == 1, run.out
    # Alone, the annotations keep their own summary line.
    alone = run_cli("files", ".", "--report", "github", cwd=repo.path)
    assert alone.out.splitlines()[-1].startswith("kimi-secret-scan: 1 finding")


def test_job_summary_takes_no_markdown_from_names(repo: GitRepo, tmp_path: Path) -> None:
    """A file name is text in the job summary: no link, autolink, emphasis, image, math or
    heading from it, in the findings table or the skipped list (round-8 review C #8: the
    <code> element held live Markdown, which GitHub renders)."""
    from markdown_it import MarkdownIt

    hostile = "[All clear](http:evil.example) **ok** _x_ ~~y~~ $z$ www.evil.example a@b.example"
    line, key = key_line()
    repo.write(f"{hostile}.env", line)
    repo.write(f"big/![i](http:evil.example) {hostile}.bin", "x" * 300)
    repo.add()
    summary = tmp_path / "summary.md"
    run = run_cli(
        "staged",
        "--format",
        "github",
        "--max-file-size",
        "200",
        cwd=repo.path,
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert run.code == 1, run.all
    text = summary.read_text(encoding="utf-8")
    assert "- skipped <code>big/" in text and "| <code>" in text, text
    # What starts an autolink in GitHub's Markdown is not there as it is.
    for autolink in ("www.", "@", "://", "$z"):
        assert autolink not in text, (autolink, text)
    page = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(text)
    for tag in ("<a ", "<img", "<strong>", "<em>", "<s>", "<del>", "<h"):
        assert tag not in page.replace("<h2>kimi-secret-scan</h2>", ""), (tag, page)
    # Shown as it is: the name's characters, as text.
    assert "[All clear](http:evil.example) **ok** _x_" in page.replace("&quot;", '"'), page
    assert key not in text
