"""`kimi-secret-scan audit`: the history audit of many repositories, on one machine or
sharded over many CI jobs, then one list of keys."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from kimi_secret_scan import outfile
from kimi_secret_scan.cli import handle_errors, max_size_option
from kimi_secret_scan.commands.merge import emit, format_option, output_option
from kimi_secret_scan.errors import ScanError
from kimi_secret_scan.org import merge, run, seal, shards, targets
from kimi_secret_scan.org.mirror_paths import default_cache
from kimi_secret_scan.redaction import redact_text


def _specs(given: tuple[str, ...], targets_file: str | None) -> list[str]:
    specs: list[str] = []
    for spec in given:
        if spec == "-":
            specs.extend(targets.read_list(sys.stdin))
        else:
            specs.append(spec)
    if targets_file == "-":
        specs.extend(targets.read_list(sys.stdin))
    elif targets_file:
        try:
            with open(targets_file, encoding="utf-8") as handle:
                specs.extend(targets.read_list(handle))
        except OSError as exc:
            raise ScanError(f"cannot read {targets_file}: {exc.strerror}") from None
    return specs


def _outside(directory: Path, local: list[targets.Target], what: str) -> None:
    """The cache and the reports are never written inside a repository being audited."""
    resolved = directory.resolve()
    for t in local:
        assert t.path is not None
        if resolved == t.path or t.path in resolved.parents:
            raise ScanError(
                f"{what} {directory} is inside {t.path}, which is being audited; "
                f"choose a directory outside it"
            )


def _purged(specs: tuple[str, ...], listed: list[targets.Target]) -> set[str]:
    """The keys of the targets `--purged` names; one that names no listed target is an
    error (a typo must not leave the keys carried with the user thinking them dropped)."""
    keys = {t.key for t in listed}
    found = set()
    for spec in specs:
        key = targets.parse(spec).key
        if key not in keys:
            raise click.UsageError(f"--purged {spec}: not one of the targets")
        found.add(key)
    return found


def _not_listed(outdir: Path, listed: set[str]) -> list[str]:
    """Reports in the output directory of targets the list no longer names (renamed,
    dropped): `merge` of the directory still reads them (a failed one makes it exit 2), so
    each is said, with the command that deletes it."""
    import json
    import shlex

    lines = []
    for path in sorted(outdir.glob("*.json")):
        if path.is_symlink() or not path.is_file():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or data.get("mode") != run.MODE:
            continue
        target = data.get("target")
        if not isinstance(target, dict):
            continue
        if target.get("key") in listed:
            continue
        lines.append(
            f"kimi-secret-scan audit: {path} is the report of {target.get('name')}, which the "
            f"targets no longer name: a merge of {outdir} still reads it; delete it: "
            f"rm -- {shlex.quote(str(path))}"
        )
    return lines


@click.command("audit")
@click.argument("target_args", metavar="TARGET...", nargs=-1)
@click.option(
    "--targets",
    "targets_file",
    metavar="FILE",
    help="Read targets from FILE, one per line (`-`: standard input; `#` starts a comment).",
)
@click.option(
    "--cache",
    "cache_dir",
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="Mirror clones of URL targets here, and fetch them on the next run "
    "(default: $XDG_CACHE_HOME/kimi-secret-scan/mirrors, else ~/.cache/...).",
)
@click.option(
    "--output-dir",
    metavar="DIR",
    default="kimi-secret-scan-audit",
    show_default=True,
    type=click.Path(file_okay=False),
    help="One JSON report per target. A rerun skips targets whose report was made from the "
    "same refs, HEADs and reflogs with the same settings.",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=None,
    help="Targets audited at once, each in its own process (default: the number of cores).",
)
@click.option(
    "--shard",
    metavar="K/N",
    help="Audit only shard K of N (a stable hash of each target decides). Under GitLab "
    "`parallel:` the default is CI_NODE_INDEX/CI_NODE_TOTAL.",
)
@max_size_option
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    help="Configuration for every target. A target's own configuration and baseline are "
    "never read: a repository must not be able to allow its own keys in an audit.",
)
@click.option(
    "--baseline",
    "baseline_file",
    type=click.Path(dir_okay=False),
    help="Do not report the keys this baseline lists, in any target.",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress on stderr (default: on a terminal, and not when CI is set).",
)
@click.option(
    "--verify",
    is_flag=True,
    help="Ask each key's issuing service whether it is still live (docs/verify.md says what "
    "is sent where); the merged report orders live keys first. Never changes the exit code.",
)
@click.option(
    "--inline-allows",
    is_flag=True,
    help="Apply the targets' inline allow comments (`kimi-secret-scan: allow`, "
    "`gitleaks:allow`, …). Default: a key such a comment covers is reported, with a note "
    "saying so: a repository must not allow its own keys in an audit of it.",
)
@click.option(
    "--purged",
    "purged_specs",
    metavar="TARGET",
    multiple=True,
    help="TARGET was purged and pruned where it is served: forget the keys earlier runs "
    "reported that no ref of it reaches now (kept listed until then), and clone it afresh.",
)
@format_option
@output_option
@handle_errors
def command(
    target_args: tuple[str, ...],
    targets_file: str | None,
    cache_dir: str | None,
    output_dir: str,
    jobs: int | None,
    shard: str | None,
    max_file_size: int | None,
    config_file: str | None,
    baseline_file: str | None,
    progress: bool | None,
    verify: bool,
    inline_allows: bool,
    output_format: str,
    output_file: str | None,
    purged_specs: tuple[str, ...] = (),
) -> int:
    """Audit the history of many repositories: local paths or clone URLs (https://,
    ssh://, git@host:path, git://, file://).

    URLs are mirrored into the cache (cloned once, fetched later). Each target is audited like
    `kimi-secret-scan history` in its own process, and its JSON report written to
    --output-dir; then one report, grouped by distinct key across repositories, is printed.
    A target that cannot be cloned or read is listed with git's reason, and the run exits 2
    after the others are done; else 1 when keys were found, else 0.
    """
    if verify:
        from kimi_secret_scan import verify as verifier

        verifier.transport()  # a misused test address is refused before any clone
    specs = _specs(target_args, targets_file)
    if not specs:
        raise click.UsageError("no targets: name them, or use --targets FILE")
    parsed: list[targets.Target] = []
    invalid: list[tuple[str, str]] = []
    for spec in specs:
        try:
            parsed.append(targets.parse(spec))
        except ScanError as exc:
            # This target fails (said, exit 2 at the end); the others are still audited.
            invalid.append((spec, str(exc)))
    ok = {t.spec for t in parsed}
    everything, also_named = targets.deduplicate(parsed)
    # Of the whole list, before the shard is chosen: every shard's job computes the same.
    digest = shards.list_digest(
        [t.key for t in everything] + [run.invalid_key(s) for s, _ in invalid]
    )
    chosen_shard = targets.parse_shard(shard) if shard else targets.shard_from_ci(os.environ)
    selected = targets.select(everything, chosen_shard)
    if chosen_shard:
        k, n = chosen_shard
        invalid = [(spec, e) for spec, e in invalid if targets.spec_shard(spec, n) == k]
        click.echo(
            f"kimi-secret-scan audit: shard {k}/{n}: {len(selected) + len(invalid)} of "
            f"{len(everything) + len(invalid)} targets",
            err=True,
        )
    purged = _purged(purged_specs, everything)
    local = [t for t in everything if t.path is not None]
    cache = Path(cache_dir) if cache_dir else default_cache()
    outdir = Path(output_dir)
    _outside(cache, local, "the cache")
    _outside(outdir, local, "the output directory")
    # Not through a link the current checkout commits (`kimi-secret-scan-audit -> /elsewhere`):
    # checked before mkdir, which would follow it, and after, once the directory exists.
    outfile.check_directory(outdir)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ScanError(f"cannot create {outdir}: {exc.strerror}") from None
    outfile.check_directory(outdir)
    if selected:
        # Seals what this audit makes (cache entries, reports): see org/seal.py. First: the key's
        # directory is made 0700 before the default cache is made inside it.
        no_key = seal.ensure_key()
        if no_key:
            click.echo(
                f"kimi-secret-scan audit: no key to seal this run's mirrors and reports "
                f"({no_key}): every target is cloned and audited afresh, none reused",
                err=True,
            )
    if any(t.url is not None for t in selected):
        # The cache holds whole keys (the mirrors): never written through a link the checkout
        # commits (`mirror-cache -> /elsewhere`), nor into a git directory, as --output-dir.
        outfile.check_directory(cache)
        try:
            cache.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise ScanError(f"cannot create {cache}: {exc.strerror}") from None
        outfile.check_directory(cache)
    job_list = [
        run.Job(
            t,
            str(cache.resolve()),
            # As typed, made absolute, not resolved: outfile.write checks the links on the way.
            str(run.output_path(outdir, t).absolute()),
            str(Path(config_file).resolve()) if config_file else None,
            str(Path(baseline_file).resolve()) if baseline_file else None,
            max_file_size,
            verify,
            inline_allows,
            tuple(also_named.get(t.key, ())),
            t.key in purged,
        )
        for t in selected
    ]
    for t in selected:
        for other in also_named.get(t.key, ()):
            line = f"kimi-secret-scan audit: {other}: the same target as {t.name}, audited once"
            click.echo(redact_text(merge.printable(line)), err=True)
    live = run.wants_live() if progress is None else progress
    display = run.Display(len(job_list) + len(invalid), live)
    refused = [run.write_invalid(outdir.absolute(), spec, error) for spec, error in invalid]
    if chosen_shard:
        # Written first, and with no target too: a merge can then tell a shard is missing.
        run.write_shard(outdir.absolute(), chosen_shard, digest, selected, invalid)
    for outcome in refused:
        display.finished(outcome)
    if job_list:
        outcomes = run.run(job_list, jobs or os.cpu_count() or 1, display)
    else:
        outcomes = []
        display.close()
    outcomes = [*refused, *outcomes]
    for o in outcomes:
        if Path(o.output).is_symlink():
            # Never written as a link (outfile refuses to): one planted there is not ours.
            raise ScanError(f"{o.output} is a symbolic link, not a report this audit wrote")
    loaded = [(Path(o.output), merge.load(Path(o.output))) for o in outcomes]
    listed = {t.key for t in everything} | {run.invalid_key(s) for s in specs if s not in ok}
    for line in _not_listed(outdir, listed):
        click.echo(redact_text(merge.printable(line)), err=True)
    return emit(merge.merge(loaded), output_format, output_file)
