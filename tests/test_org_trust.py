"""`audit --cache DIR --output-dir DIR` in a checkout nobody vetted: what it commits there (a
cache entry, a link, a report) is never trusted. Real repositories, the real CLI, file:// URLs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from kimi_secret_scan.finding import redact
from kimi_secret_scan.org import targets
from tests.gitrepo import GitRepo, git, run_cli
from tests.keygen import kimi_code_key

NO_CI = {"CI": ""}


def _leaking(tmp_path: Path) -> tuple[str, str, str]:
    """A repository with a key in its history: (its file:// URL, its slug, the key)."""
    key = kimi_code_key()
    src = GitRepo(tmp_path / "src")
    src.commit_file("app.env", f"KIMI_API_KEY={key}\n")
    url = f"file://{src.path}"
    return url, targets.parse(url).slug, key


def _program(tmp_path: Path) -> tuple[Path, Path]:
    """A program that leaves a mark when run, then serves the fetch as git would."""
    mark = tmp_path / "PWNED"
    script = tmp_path / "up.sh"
    script.write_text(f'#!/bin/sh\ntouch "{mark}"\nexec git-upload-pack "$@"\n')
    script.chmod(0o755)
    return script, mark


def _audit(checkout: Path, *extra: str) -> tuple[int, str, str]:
    run = run_cli(
        "audit",
        "--no-progress",
        "--targets",
        "targets.txt",
        "--cache",
        "mirror-cache",
        *extra,
        cwd=checkout,
        env=NO_CI,
    )
    return run.code, run.out, run.err


def test_a_cache_entry_the_checkout_commits_is_never_used(tmp_path: Path) -> None:
    """`mirror-cache/<slug>.git` committed as a bare repository whose config names the target:
    its upload-pack program must not run, and its refspec (which fetches nothing) must not
    make a leaking target read as clean."""
    url, slug, key = _leaking(tmp_path)
    script, mark = _program(tmp_path)
    checkout = GitRepo(tmp_path / "checkout")
    checkout.write("targets.txt", url + "\n")
    entry = checkout.path / "mirror-cache" / f"{slug}.git"
    git(tmp_path, "init", "-q", "--bare", str(entry))
    git(entry, "config", "remote.origin.url", url)
    git(entry, "config", "remote.origin.fetch", "+refs/heads/nothing-*:refs/heads/nothing-*")
    git(entry, "config", "remote.origin.uploadpack", str(script))
    checkout.add()
    checkout.commit("audit job: targets and cache")
    code, out, err = _audit(checkout.path, "--output-dir", str(tmp_path / "out"))
    assert code == 1, out + err
    assert not mark.exists()
    assert redact(key) in out
    assert "was not as this audit left it" in err and "cloned again" in err
    assert "remote.origin.uploadpack" not in git(entry, "config", "--list")


def test_a_cache_entry_changed_after_this_tool_made_it_is_cloned_again(tmp_path: Path) -> None:
    """A mirror this audit cloned, then edited (config and refs): the seal no longer matches,
    so no git runs with the edited config and the target is audited from a fresh clone."""
    url, slug, key = _leaking(tmp_path)
    script, mark = _program(tmp_path)
    checkout = tmp_path / "job"
    checkout.mkdir()
    (checkout / "targets.txt").write_text(url + "\n")
    args = ("--output-dir", str(tmp_path / "out"))
    code, out, err = _audit(checkout, *args)
    assert code == 1, out + err
    assert "cloned again" not in err
    again = _audit(checkout, *args)
    assert again[0] == 1 and "unchanged since the last run" in again[2], again
    assert "cloned again" not in again[2]
    entry = checkout / "mirror-cache" / f"{slug}.git"
    git(entry, "config", "remote.origin.uploadpack", str(script))
    git(entry, "config", "remote.origin.fetch", "+refs/heads/nothing-*:refs/heads/nothing-*")
    git(entry, "update-ref", "-d", "refs/heads/main")
    code, out, err = _audit(checkout, "--output-dir", str(tmp_path / "out2"))
    assert code == 1, out + err
    assert not mark.exists()
    assert "cloned again" in err
    assert redact(key) in out


def test_the_cache_is_never_written_through_a_link_the_checkout_commits(tmp_path: Path) -> None:
    """`--cache mirror-cache` where the checkout commits `mirror-cache -> /elsewhere`: refused
    as --output-dir is; and an entry committed as a link is removed, never followed."""
    url, slug, key = _leaking(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    checkout = GitRepo(tmp_path / "checkout")
    checkout.write("targets.txt", url + "\n")
    (checkout.path / "mirror-cache").symlink_to(elsewhere)
    checkout.add()
    checkout.commit("links")
    code, out, err = _audit(checkout.path, "--output-dir", str(tmp_path / "out"))
    assert code == 2, out + err
    assert "mirror-cache is a symbolic link inside a repository" in err
    assert list(elsewhere.iterdir()) == []

    # The cache directory is real, but its entry for the target is a committed link.
    victim = tmp_path / "victim"
    (victim / "objects").mkdir(parents=True)
    (victim / "precious.txt").write_text("keep me\n")
    other = GitRepo(tmp_path / "other")
    other.write("targets.txt", url + "\n")
    (other.path / "mirror-cache").mkdir()
    (other.path / "mirror-cache" / f"{slug}.git").symlink_to(victim)
    other.add()
    other.commit("an entry as a link")
    code, out, err = _audit(other.path, "--output-dir", str(tmp_path / "out2"))
    assert code == 1, out + err
    assert redact(key) in out
    assert (victim / "precious.txt").read_text() == "keep me\n"
    assert sorted(p.name for p in victim.iterdir()) == ["objects", "precious.txt"]
    assert not (other.path / "mirror-cache" / f"{slug}.git").is_symlink()


@pytest.mark.parametrize("forged", ["emptied", "unsealed"])
def test_a_report_the_checkout_commits_is_never_reused(tmp_path: Path, forged: str) -> None:
    """`reports/<slug>.json` committed with the target's right fingerprint (anyone can get it
    by auditing the same public target) and no keys: the target is audited again."""
    url, slug, key = _leaking(tmp_path)
    probe = tmp_path / "probe"
    first = run_cli("audit", "--no-progress", "--cache", str(tmp_path / "c1"), "--output-dir",
                    str(probe), url, cwd=tmp_path, env=NO_CI)  # fmt: skip
    assert first.code == 1, first.all
    data = json.loads((probe / f"{slug}.json").read_text())
    data["groups"], data["findings"] = [], []
    data["stats"].update(findings=0, distinct_keys=0)
    if forged == "unsealed":
        del data["target"]["seal"]  # as a version without seals wrote it
    checkout = GitRepo(tmp_path / "checkout")
    checkout.write("targets.txt", url + "\n")
    checkout.write(f"reports/{slug}.json", json.dumps(data))
    checkout.add()
    checkout.commit("targets + last reports")
    shutil.rmtree(probe)
    code, out, err = _audit(checkout.path, "--output-dir", "reports")
    assert code == 1, out + err
    assert "unchanged since the last run" not in err
    assert redact(key) in out
    # What it wrote instead is sealed, and reused by the next run.
    again = _audit(checkout.path, "--output-dir", "reports")
    assert again[0] == 1 and "unchanged since the last run" in again[2], again


def test_without_a_key_nothing_is_reused_and_the_run_says_so(tmp_path: Path) -> None:
    """A home whose cache cannot be written (here XDG_CACHE_HOME is a file): the audit still
    runs, says that it cannot seal, and trusts no mirror nor report of an earlier run."""
    url, _slug, key = _leaking(tmp_path)
    not_a_dir = tmp_path / "xdg"
    not_a_dir.write_text("")
    env = {**NO_CI, "XDG_CACHE_HOME": str(not_a_dir)}
    args = ("audit", "--no-progress", url, "--cache", str(tmp_path / "c"), "--output-dir",
            str(tmp_path / "o"))  # fmt: skip
    for _ in range(2):
        run = run_cli(*args, cwd=tmp_path, env=env)
        assert run.code == 1, run.all
        assert "no key to seal this run's mirrors and reports" in run.err
        assert "unchanged since the last run" not in run.err
        assert redact(key) in run.out


def test_a_sealed_report_of_another_target_is_not_reused(tmp_path: Path) -> None:
    """Two copies of one repository have one fingerprint: a's sealed report copied over b's
    is still a's (its name is what the merged report would print for b's keys)."""
    a = GitRepo(tmp_path / "a")
    a.commit_file("app.env", f"KIMI_API_KEY={kimi_code_key()}\n")
    b = tmp_path / "b"
    shutil.copytree(a.path, b, symlinks=True)
    out = tmp_path / "o"
    args = ("audit", "--no-progress", str(a.path), str(b), "--output-dir", str(out), "-j", "1")
    assert run_cli(*args, cwd=tmp_path, env=NO_CI).code == 1
    slug_a, slug_b = (targets.parse(str(p)).slug for p in (a.path, b))
    shutil.copyfile(out / f"{slug_a}.json", out / f"{slug_b}.json")
    again = run_cli(*args, "--format", "json", cwd=tmp_path, env=NO_CI)
    assert again.code == 1, again.all
    assert again.err.count("unchanged since the last run") == 1
    (only,) = json.loads(again.out)["keys"]
    assert sorted(r["repository"] for r in only["repositories"]) == sorted([str(a.path), str(b)])


def test_a_sealed_entry_never_runs_the_config_it_carries(tmp_path: Path) -> None:
    """A cache entry sealed under this user's own key (a key someone learnt, a bug) whose
    config runs a program on fetch and redirects it to a clean copy: the config is written
    afresh before git reads it, so the program never runs and the leaking target is read."""
    from kimi_secret_scan.org import seal

    url, slug, key = _leaking(tmp_path)
    script, mark = _program(tmp_path)
    clean = GitRepo(tmp_path / "clean")
    clean.commit_file("README", "hi\n")
    job = tmp_path / "job"
    job.mkdir()
    (job / "targets.txt").write_text(url + "\n")
    code, out, err = _audit(job, "--output-dir", str(tmp_path / "out"))
    assert code == 1, out + err
    entry = job / "mirror-cache" / f"{slug}.git"
    git(entry, "config", "remote.origin.uploadpack", str(script))
    git(entry, "config", f"url.file://{clean.path}.insteadOf", url)
    git(entry, "config", "remote.origin.fetch", "+refs/heads/nothing-*:refs/heads/nothing-*")
    git(entry, "update-ref", "-d", "refs/heads/main")
    seal.seal_entry(entry, url, seal.load_key())  # the same HOME as the CLI's: its real key
    code, out, err = _audit(job, "--output-dir", str(tmp_path / "out2"))
    assert code == 1, out + err
    assert not mark.exists()
    assert "cloned again" not in err  # the seal held: the entry was fetched, with our config
    assert redact(key) in out
    config = git(entry, "config", "--list")
    assert "uploadpack" not in config and "insteadof" not in config.lower()


@pytest.mark.parametrize("how", ["in-checkout", "link", "mode", "dir-link"])
def test_a_sealing_key_someone_else_may_know_stops_the_audit(tmp_path: Path, how: str) -> None:
    """XDG_CACHE_HOME=$PWD/.cache in a checkout that commits `.cache/kimi-secret-scan/audit-key`
    and a mirror sealed with it (its config runs a program): the key is refused, exit 2, before
    any git runs. So is a key that is a link, not 0600, or in a directory that is a link."""
    from kimi_secret_scan.org import seal

    url, slug, _key = _leaking(tmp_path)
    script, mark = _program(tmp_path)
    checkout = GitRepo(tmp_path / "checkout")
    xdg = checkout.path / ".cache" if how == "in-checkout" else tmp_path / "xdg"
    keydir = xdg / "kimi-secret-scan"
    if how == "dir-link":
        (tmp_path / "real-keydir").mkdir(mode=0o700)
        xdg.mkdir()
        keydir.symlink_to(tmp_path / "real-keydir")
    else:
        keydir.mkdir(parents=True, mode=0o700)
    known = b"A" * 32
    if how == "link":
        (tmp_path / "known").write_bytes(known)
        (tmp_path / "known").chmod(0o600)
        (keydir / "audit-key").symlink_to(tmp_path / "known")
    else:
        (keydir / "audit-key").write_bytes(known)
        (keydir / "audit-key").chmod(0o644 if how == "mode" else 0o600)
    entry = keydir / "mirrors" / f"{slug}.git"
    git(tmp_path, "init", "-q", "--bare", str(entry))
    git(entry, "config", "remote.origin.url", url)
    git(entry, "config", "remote.origin.fetch", "+refs/*:refs/*")
    git(entry, "config", "remote.origin.uploadpack", str(script))
    seal.seal_entry(entry, url, known)
    checkout.write("targets.txt", url + "\n")
    checkout.add()
    checkout.commit("audit job with its cache")
    run = run_cli("audit", "--no-progress", "--targets", "targets.txt", "--output-dir",
                  str(tmp_path / "out"), cwd=checkout.path,
                  env={**NO_CI, "XDG_CACHE_HOME": str(xdg)})  # fmt: skip
    assert run.code == 2, run.all
    assert "the audit's sealing key cannot be trusted" in run.err
    assert not mark.exists()


def test_the_sealing_key_is_made_0600_in_a_0700_directory(tmp_path: Path) -> None:
    url, _slug, _key = _leaking(tmp_path)
    xdg = tmp_path / "xdg"
    run = run_cli("audit", "--no-progress", url, "--output-dir", str(tmp_path / "o"),
                  cwd=tmp_path, env={**NO_CI, "XDG_CACHE_HOME": str(xdg)})  # fmt: skip
    assert run.code == 1, run.all
    assert (xdg / "kimi-secret-scan").stat().st_mode & 0o777 == 0o700
    assert (xdg / "kimi-secret-scan" / "audit-key").stat().st_mode & 0o777 == 0o600


def test_the_fetch_names_git_upload_pack_whatever_the_config_says(tmp_path: Path) -> None:
    """The second layer, alone: a mirror whose config (not rewritten here) names an
    upload-pack program. The fetch passes --upload-pack (a `-c` would lose: git keeps the
    first value, the repository's), so the program does not run."""
    import git as gitpython

    from kimi_secret_scan.org import mirror

    url, _slug, _key = _leaking(tmp_path)
    script, mark = _program(tmp_path)
    entry = tmp_path / "m.git"
    git(tmp_path, "clone", "-q", "--mirror", url, str(entry))
    git(entry, "config", "remote.origin.uploadpack", str(script))
    repo = gitpython.Repo(entry)
    repo.git.update_environment(**mirror.mirror_env())
    mirror.fetch(repo.remote("origin"), gitpython.RemoteProgress())
    assert not mark.exists()
