"""Thin, read-only wrappers around git plumbing.

All git access is plain subprocesses that stream git's output. GitPython is not used:
importing it costs ~60 ms, a large share of a pre-commit budget of 150 ms, and its object
reads are one round trip per object where a history audit needs one pipelined
`cat-file --batch` stream. Every call runs with GIT_OPTIONAL_LOCKS=0 so that git never
refreshes the index or takes locks in the repository we only read, and inherits the rest
of the environment so GIT_INDEX_FILE (set by `git commit -a` / `git commit PATH`) is honoured.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeAlias

from kimi_secret_scan import record, special_files, threads
from kimi_secret_scan.errors import ScanError

if TYPE_CHECKING:
    import concurrent.futures

# Settings a scanned repository's own config (or an attacker's `include.path`) could use to
# make a *read* command run a program, or read something other than what is stored. Each is
# set again at git's command-line level, which beats every config file. Values that name a
# program are set to a harmless one rather than left empty where git would run "" via a
# shell; booleans are switched off. Why each one is here:
HARDENED_CONFIG: tuple[tuple[str, str], ...] = (
    # Runs a program on any command that looks at the work tree or refreshes the index
    # (`git status`, `diff`, `ls-files`, `diff-tree` under some conditions): the classic
    # "run code on clone-and-inspect" setting. false = no monitor, builtin or external.
    ("core.fsmonitor", "false"),
    # `git log` would verify every signed commit by running gpg.program (or
    # gpg.ssh.program / gpg.x509.program): no verification, so none of them is reached.
    ("log.showSignature", "false"),
    # Defence in depth: were a signature ever verified, run a program that only fails.
    ("gpg.program", "false"),
    ("gpg.openpgp.program", "false"),
    ("gpg.x509.program", "false"),
    ("gpg.ssh.program", "false"),
    ("gpg.ssh.defaultKeyCommand", "false"),
    # A diff program replacing git's own patch (also refused per call with --no-ext-diff;
    # a per-driver diff.<driver>.command is only honoured when external diffs are allowed).
    ("diff.external", "false"),
    # Pagers only start on a terminal and git never gets one from us; set anyway.
    ("core.pager", "cat"),
    ("pager.log", "false"),
    ("pager.diff", "false"),
    ("pager.show", "false"),
    # Editors: no read command edits; set so a future call could not start one.
    ("core.editor", ":"),
    ("sequence.editor", ":"),
    # Transports: the ext:: transport runs an arbitrary command; never allowed (the
    # read-only door below also allows no transport at all).
    ("protocol.ext.allow", "never"),
    # Reading commands do not run hooks; point hooks at nothing all the same so that a
    # hook could never come from the repository's hooksPath.
    ("core.hooksPath", os.devnull),
    # Automatic housekeeping (gc, maintenance) could start after some commands and runs
    # with the repository's config; reading never needs it.
    ("gc.auto", "0"),
    ("maintenance.auto", "false"),
    # Settings that change what the patch or log we parse looks like: colour codes, prefixes,
    # paths relative to a subdirectory, another encoding. Keyed on the repository's wish,
    # they would make the parser read something other than what is stored.
    ("color.ui", "false"),
    ("color.diff", "false"),
    ("diff.noprefix", "false"),
    ("diff.mnemonicPrefix", "false"),
    ("diff.relative", "false"),
    ("i18n.logOutputEncoding", "UTF-8"),
    # Which lines count as added is the diff algorithm's answer: git's default, always.
    ("diff.algorithm", "myers"),
    # Authors as the commits store them, not as the repository's .mailmap renames them.
    ("log.mailmap", "false"),
    # Files the repository's config could name as a FIFO (git would wait on it forever),
    # whose answers the scanner never needs: the order of a patch's files (our parser reads
    # any order) and a mailmap (authors are read as stored). An empty file, never waiting.
    # (core.attributesFile and core.excludesFile, a user's own lists, are checked instead:
    # special_files.)
    ("diff.orderFile", os.devnull),
    ("mailmap.file", os.devnull),
    # Each commit's root tree and parents as its commit object stores them: with a
    # commit-graph file (objects/info/commit-graph, or a commit-graphs/ chain) every walk
    # (rev-list, log) takes them from the file, unchecked, so a downloaded repository's
    # forged graph hides a key commit's tree or cuts the history short (only `git
    # commit-graph verify` notices). Costs about 3% more CPU on a walk of 46,000 objects.
    ("core.commitGraph", "false"),
    # The repository's own core.useReplaceRefs=true is read after GIT_NO_REPLACE_OBJECTS
    # (set in _overlay) and would turn replace refs back on, hiding a replaced commit's real
    # tree; command-line config is read last and wins. (Grafts have no setting: only
    # GIT_GRAFT_FILE names the file, and the environment is ours.)
    ("core.useReplaceRefs", "false"),
)

# Added for the commands the scanner itself runs (it only reads): no network at all, so a
# lazy fetch in a partial clone, an ssh command, a credential helper or an askpass program
# is never reached on any git version. Not in git_env(), which callers also use to clone.
_READ_ONLY_CONFIG: tuple[tuple[str, str], ...] = (
    # An empty value resets the list of helpers: none is asked for a password.
    ("credential.helper", ""),
    ("core.askPass", ""),
    # Never reached with no transport allowed; a command that only fails if it were.
    ("core.sshCommand", "false"),
    ("core.gitProxy", "false"),
)

# The settings reach git through GIT_CONFIG_PARAMETERS, the variable `git -c` itself has
# always used, appended after what the caller's environment already holds there. Not through
# GIT_CONFIG_COUNT/KEY_n/VALUE_n (git 2.31+): git reads GIT_CONFIG_PARAMETERS *after* those,
# so a hook started by `git -c core.fsmonitor=PROGRAM commit` (hooks inherit the variable)
# would have its PROGRAM beat ours. The old 'key=value' quoting is read by every git the
# README supports (2.20+), and none of our keys or values holds a '=' or a quote.
_version_found: tuple[int, int] | None = None
_version_text = ""
_version_asked = False
_git_missing = False


_version_probe: subprocess.Popen[bytes] | None = None


def _start_git_version() -> subprocess.Popen[bytes]:
    env = dict(os.environ, LC_ALL="C", LANGUAGE="C")
    return subprocess.Popen(
        ["git", "--version"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )


def start_version_probe() -> None:
    """Start `git --version` now and read its answer when first needed. The entry point
    calls this before importing the rest of the scanner, so git answers while Python
    imports (~35 ms) instead of after: 1-3 ms less wall time on every run."""
    global _version_probe
    if _version_asked or _version_probe is not None:
        return
    try:
        _version_probe = _start_git_version()
    except OSError:
        _version_probe = None  # asked again when needed; that call says what went wrong


def _git_version() -> tuple[int, int] | None:
    """git's version, asked once per process (one `git --version`, 1-3 ms); None when git
    is missing or does not say."""
    global _version_found, _version_text, _version_asked, _git_missing
    if not _version_asked:
        _version_asked = True
        try:
            proc = _version_probe if _version_probe is not None else _start_git_version()
            stdout, _ = proc.communicate()
        except FileNotFoundError:
            _git_missing = True
            return None
        _version_text = stdout.decode("utf-8", "replace").strip()
        match = re.search(r"(\d+)\.(\d+)", _version_text)
        if match is not None:
            _version_found = (int(match.group(1)), int(match.group(2)))
    return _version_found


def _sq(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _add_config(
    env: dict[str, str], base: dict[str, str], settings: tuple[tuple[str, str], ...]
) -> None:
    """Put into `env` the GIT_CONFIG_PARAMETERS that appends `settings` to the command-line
    config `base` (the caller's environment) already carries there. git reads it after
    every config file and after GIT_CONFIG_COUNT's entries, and the last value wins: ours
    beat the repository's config, a caller's GIT_CONFIG_COUNT and a caller's `git -c`."""
    ours = " ".join(_sq(f"{key}={value}") for key, value in settings)
    before = base.get("GIT_CONFIG_PARAMETERS", "").strip()
    env["GIT_CONFIG_PARAMETERS"] = f"{before} {ours}" if before else ours


# The variables git_env() and _read_env() set, built once per process (per caller config
# and git version): every hook call builds an environment for each of its git calls.
_overlays: dict[tuple[object, ...], dict[str, str]] = {}


def _overlay(read_only: bool) -> dict[str, str]:
    base = os.environ
    cache_key = (
        read_only,
        _git_version(),
        base.get("GIT_CONFIG_COUNT"),
        base.get("GIT_CONFIG_PARAMETERS"),
    )
    overlay = _overlays.get(cache_key)
    if overlay is not None:
        return overlay
    overlay = {
        "GIT_OPTIONAL_LOCKS": "0",
        "GIT_TERMINAL_PROMPT": "0",
        "LC_ALL": "C",
        "LANGUAGE": "C",
        # Replace refs and grafts change what history *shows*, not what is stored, pushed
        # or cloned: read the real objects, so a key hidden behind a replacement is found
        # (the replacements are reachable from refs/replace/ and scanned too).
        "GIT_NO_REPLACE_OBJECTS": "1",
        # The same for the deprecated .git/info/grafts: a graft file that cannot exist
        # (reading an empty one would print a deprecation hint on every call).
        "GIT_GRAFT_FILE": os.path.join(os.devnull, "no-grafts"),
        # A partial clone would otherwise fetch missing objects from its promisor remote
        # (git 2.44+ and the 2.39.4+ security releases honour this; older gits are stopped
        # by _read_env's transport ban).
        "GIT_NO_LAZY_FETCH": "1",
        # The environment beats core.pager / core.editor; no program either way.
        "GIT_PAGER": "cat",
        "PAGER": "cat",
        "GIT_EDITOR": ":",
        "GIT_SEQUENCE_EDITOR": ":",
    }
    settings = HARDENED_CONFIG
    if read_only:
        # GIT_ALLOW_PROTOCOL beats every protocol.* setting of the repository; a name no
        # transport has allows none, so a partial clone's lazy fetch fails (the object is
        # then reported missing) on every git version, without running its remote's
        # upload-pack, ssh command, credential helper or ext:: command.
        overlay["GIT_ALLOW_PROTOCOL"] = "none"
        # An empty GIT_ASKPASS beats core.askPass and SSH_ASKPASS: nothing asks.
        overlay["GIT_ASKPASS"] = ""
        settings = HARDENED_CONFIG + _READ_ONLY_CONFIG
    _add_config(overlay, dict(base), settings)
    _overlays[cache_key] = overlay
    return overlay


def _environment(read_only: bool) -> dict[str, str]:
    env = dict(os.environ)
    # GIT_DIFF_OPTS=--unified=N takes precedence over -U0 on the command line and would count
    # unchanged lines as added; GIT_EXTERNAL_DIFF would replace the patch we parse.
    env.pop("GIT_DIFF_OPTS", None)
    env.pop("GIT_EXTERNAL_DIFF", None)
    env.update(_overlay(read_only))
    return env


def git_env() -> dict[str, str]:
    """The environment for every git the scanner starts (and for GitPython, off the hook
    path): the caller's environment, with what a hostile repository could use to run a
    program or change what is read overridden (HARDENED_CONFIG; docs/guarantees.md)."""
    return _environment(read_only=False)


def _read_env() -> dict[str, str]:
    """git_env() for the scanner's own commands, which only read: no transport at all."""
    return _environment(read_only=True)


# Commands whose purpose is the network (the organisation audit clones and fetches its own
# copies): they keep git_env()'s transports, ext:: excepted. Every other command the scanner
# runs only reads, and gets no transport at all.
_NETWORK_COMMANDS = frozenset({"clone", "fetch", "ls-remote"})


def _env_for(args: list[str]) -> dict[str, str]:
    return git_env() if _subcommand(args) in _NETWORK_COMMANDS else _read_env()


MIN_VERSION = (2, 20)
_checked = False


def _git_not_found() -> ScanError:
    return ScanError("git was not found on PATH; install git and try again")


def spawn_error(exc: FileNotFoundError) -> ScanError:
    """Why git could not be started: not on PATH, or the directory to run it in is gone
    (both raise FileNotFoundError; the missing name tells which)."""
    if exc.filename in (None, "git"):
        return _git_not_found()
    return ScanError(f"{exc.filename} does not exist")


def check_version() -> None:
    """Refuse a git older than MIN_VERSION, once per process, before the first git call.

    Checked up front rather than after a failure: an old git does not always fail, it can
    answer differently (before 2.15 `rev-parse --is-shallow-repository` echoes the option,
    which reads as "not shallow"). One `git --version` costs 1-3 ms, and the same answer
    chooses how git_env() passes its settings.
    """
    global _checked
    if _checked:
        return
    found = _git_version()
    if _git_missing:
        raise _git_not_found()
    _checked = True
    if found is None:
        return  # an unusual build that does not say: let its answers speak
    if found < MIN_VERSION:
        raise ScanError(
            f"{_version_text} is too old: kimi-secret-scan needs git "
            f"{MIN_VERSION[0]}.{MIN_VERSION[1]} or later; upgrade git and try again"
        )


def _first_line(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return "no message"
    first = lines[0].removeprefix("fatal: ").removeprefix("error: ")
    if first.endswith(":") and len(lines) > 1:
        first += " " + lines[1]  # "unknown repository extension found:" / "\tname"
    return first


def _subcommand(args: list[str]) -> str:
    """The git command that ran, past `-c name=value` options: `git diff`, not `git -c`."""
    rest = iter(args)
    for arg in rest:
        if arg == "-c":
            next(rest, None)
        elif not arg.startswith("-"):
            return arg
    return args[0] if args else "git"


# Reads started before they were asked for (prefetch): arguments, directory, environment.
_PREFETCH_PIPE = 1 << 20  # /proc/sys/fs/pipe-max-size by default
_prefetched: list[tuple[list[str], str, dict[str, str], subprocess.Popen[bytes]]] = []

# find_repo's one question (top level, git directory, HEAD), asked in a directory.
_REPO_QUESTION = [
    "rev-parse",
    "--show-toplevel",
    "--absolute-git-dir",
    "--verify",
    "-q",
    "HEAD^{commit}",
]


def prefetch(args: list[str], cwd: str) -> None:
    """Start `git ARGS` in `cwd` now, for the next call that asks for exactly the same
    command, in the same directory, with the same environment; a call that asks for
    anything else discards every prefetched git (killed, never read). The hook's entry
    point starts its `rev-parse` and its `git diff` this way, so that git works while
    Python imports the scanner. Only a read is ever prefetched, and none is waited for
    before the command's own checks (find_repo's walk for FIFOs) have passed: one that
    hangs is killed (discard_prefetched, on every exit)."""
    found = _git_version()  # not check_version(): its refusal is the command's to say
    if found is None or found < MIN_VERSION:
        return
    try:
        env = _env_for(args)
        proc = subprocess.Popen(
            ["git", *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    except (ScanError, OSError):
        return  # the command itself will meet (and report) the same trouble
    _prefetched.append((list(args), os.path.abspath(cwd), env, proc))
    # Nobody reads the pipe until the command asks: a pipe of 64 KiB would stop git a
    # quarter of the way through the hook's 250 KiB patch. Linux lets a pipe grow to 1 MiB.
    try:
        import fcntl
    except ImportError:  # not a POSIX system: git waits for the reader as usual
        return
    grow = getattr(fcntl, "F_SETPIPE_SZ", None)
    if grow is not None and proc.stdout is not None:
        with contextlib.suppress(OSError):  # then git waits for the reader as usual
            fcntl.fcntl(proc.stdout.fileno(), grow, _PREFETCH_PIPE)


def prefetch_repo(cwd: str) -> None:
    """Start find_repo's `git rev-parse` for `cwd` now (prefetch)."""
    prefetch(_REPO_QUESTION, cwd)


def discard_prefetched() -> None:
    """Stop every prefetched git nobody asked for (before exit, or when another call comes)."""
    while _prefetched:
        proc = _prefetched.pop()[3]
        proc.kill()
        proc.communicate()


def _take_prefetched(
    args: list[str], cwd: Path | str, input: bytes | None
) -> subprocess.Popen[bytes] | None:
    if not _prefetched:
        return None
    if input is None:
        here = os.path.abspath(cwd)
        for n, (want_args, want_cwd, want_env, proc) in enumerate(_prefetched):
            if args == want_args and here == want_cwd and _env_for(args) == want_env:
                del _prefetched[n]
                return proc
    discard_prefetched()
    return None


def run_git(args: list[str], cwd: Path | str, input: bytes | None = None) -> bytes:
    """Run git and return its stdout; any failure becomes a one-line ScanError."""
    check_version()
    early = _take_prefetched(args, cwd, input)
    if early is not None:
        stdout, stderr = early.communicate()
        if early.returncode != 0:
            raise ScanError(f"git {_subcommand(args)} failed: {_first_line(stderr)}")
        return bytes(stdout)
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            input=input,
            capture_output=True,
            env=_env_for(args),
            check=False,
        )
    except FileNotFoundError as exc:
        raise spawn_error(exc) from None
    except NotADirectoryError:
        raise ScanError(f"{cwd} is not a directory") from None
    if proc.returncode != 0:
        raise ScanError(f"git {_subcommand(args)} failed: {_first_line(proc.stderr)}")
    return proc.stdout


def stream_git(args: list[str], cwd: Path | str, chunk: int = 1 << 20) -> Iterator[bytes]:
    """run_git's stdout in chunks as git writes it, for output that may be too large to
    hold (the caller keeps what it needs); any failure becomes a one-line ScanError after
    the output. A prefetched run of the same command is used as run_git uses it."""
    check_version()
    proc = _take_prefetched(args, cwd, None)
    if proc is None:
        try:
            proc = subprocess.Popen(
                ["git", *args],
                cwd=cwd,
                env=_env_for(args),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except FileNotFoundError as exc:
            raise spawn_error(exc) from None
        except NotADirectoryError:
            raise ScanError(f"{cwd} is not a directory") from None
    assert proc.stdout is not None and proc.stderr is not None
    stdout, stderr = proc.stdout, proc.stderr
    errors: list[bytes] = []
    # stderr is drained beside stdout: git blocks on a full pipe of warnings otherwise.
    drain = threads.start(lambda: errors.append(stderr.read()))
    read_all = False
    try:
        while data := os.read(stdout.fileno(), chunk):
            yield data
        read_all = True
    finally:
        if not read_all:
            proc.kill()  # the caller stopped early
        code = proc.wait()
        drain.join()
        stdout.close()
        stderr.close()
    if code != 0:
        raise ScanError(f"git {_subcommand(args)} failed: {_first_line(b''.join(errors))}")


def try_git(args: list[str], cwd: Path | str, input: bytes | None = None) -> bytes | None:
    """Run git; None when it exits non-zero (for questions such as 'is there a HEAD?')."""
    check_version()
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            input=input,
            capture_output=True,
            env=_env_for(args),
            check=False,
        )
    except FileNotFoundError as exc:
        raise spawn_error(exc) from None
    return proc.stdout if proc.returncode == 0 else None


def try_git_warnings(args: list[str], cwd: Path | str) -> tuple[bytes | None, list[str]]:
    """try_git, plus git's stderr lines (warnings it gives while still exiting 0)."""
    check_version()
    try:
        proc = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, env=_env_for(args), check=False
        )
    except FileNotFoundError as exc:
        raise spawn_error(exc) from None
    lines = proc.stderr.decode("utf-8", "surrogateescape").splitlines()
    return (proc.stdout if proc.returncode == 0 else None), lines


PIPE = subprocess.PIPE
DEVNULL = subprocess.DEVNULL
# A running git whose output is read as a stream (rev-list, cat-file, log).
Process: TypeAlias = "subprocess.Popen[bytes]"


def popen(args: list[str], cwd: Path | str, **streams: Any) -> Process:
    """Start git with the read-only environment and stream its output: the one place,
    with run_git and its siblings, where the scanner starts a process. `streams` are
    Popen's stdin/stdout/stderr (git.PIPE, git.DEVNULL or a file)."""
    check_version()
    try:
        return subprocess.Popen(["git", *args], cwd=cwd, env=_env_for(args), **streams)
    except FileNotFoundError as exc:
        raise spawn_error(exc) from None


class Pending:
    """A git read started now and collected later: run_git (`result`) or try_git
    (`answer`), with git's output read by a thread, so that git runs to its end while the
    caller does other work (the history audit's reads that need nothing the scan finds).
    Start one only once any worker process has been forked: a fork copies no thread."""

    def __init__(self, args: list[str], cwd: Path | str, stdin: bytes | None = None) -> None:
        self.args = args
        if stdin is None:
            self.proc = popen(args, cwd, stdout=PIPE, stderr=PIPE)
        else:
            import tempfile

            # Its input from a file: no second thread to feed it.
            with tempfile.TemporaryFile(prefix="kimi-secret-scan-") as given:
                given.write(stdin)
                given.seek(0)
                self.proc = popen(args, cwd, stdin=given, stdout=PIPE, stderr=PIPE)
        self.out = b""
        self.err = b""
        self.thread = threads.start(self._read)

    def _read(self) -> None:
        self.out, self.err = self.proc.communicate()

    def answer(self) -> bytes | None:
        """Its output; None when git exited non-zero (try_git)."""
        threads.join(self.thread)
        return self.out if self.proc.returncode == 0 else None

    def result(self) -> bytes:
        """Its output; ScanError when git exited non-zero (run_git)."""
        out = self.answer()
        if out is None:
            raise ScanError(f"git {_subcommand(self.args)} failed: {_first_line(self.err)}")
        return out


@record.frozen
@dataclass(init=False, repr=False, eq=False)
class Repo:
    """A repository, as `git rev-parse` names it."""

    root: Path  # the work tree's top level
    git_dir: Path
    # The commit HEAD names, None before the first commit (asked in the same git call).
    head: str | None = None

    def __init__(self, root: Path, git_dir: Path, head: str | None = None) -> None:
        record.assign(self, root=root, git_dir=git_dir, head=head)


# The repository toplevel() found while the configuration was looked up, kept for the
# command's own find_repo of the same directory: the hook starts one `git rev-parse`, not two.
# Used once, then forgotten, so that a later question is asked again.
_found_for_config: dict[str, Repo] = {}


def toplevel(start: Path) -> Path | None:
    """The top level of the work tree around `start`; None outside one (no repository, a
    bare one, or one git refuses to read: the caller falls back to `start`)."""
    check_version()  # a missing or too old git is an error here too, never a fallback
    try:
        repo = find_repo(start)
    except ScanError:
        return None
    _found_for_config[os.path.abspath(start)] = repo
    return repo.root


def find_repo(path: Path | str = ".") -> Repo:
    path = Path(path)
    if not path.exists():
        raise ScanError(f"{path} does not exist")
    cwd = path if path.is_dir() else path.parent
    remembered = _found_for_config.pop(os.path.abspath(cwd), None)
    if remembered is not None:
        return remembered
    check_version()
    special_files.refuse_special_files(cwd)  # a FIFO where git opens a file: git would hang
    # One process answers all three questions; `--verify -q` makes an unborn HEAD exit 1
    # quietly after the first two answers, instead of failing the whole call.
    early = _take_prefetched(_REPO_QUESTION, cwd, None)
    if early is not None:
        stdout, stderr = early.communicate()
        code = early.returncode
    else:
        try:
            proc = subprocess.run(
                ["git", *_REPO_QUESTION], cwd=cwd, capture_output=True, env=_read_env(), check=False
            )
        except FileNotFoundError as exc:
            raise spawn_error(exc) from None
        stdout, stderr, code = proc.stdout, proc.stderr, proc.returncode
    lines = stdout.decode("utf-8", "surrogateescape").split("\n")[:-1]
    quiet = code in (0, 1) and not stderr.strip()
    if quiet and len(lines) > 3 - code:
        # A path holding a newline: the joint answer cannot be split, so ask one at a time.
        return _find_repo_slowly(cwd)
    unborn = code == 1 and len(lines) == 2 and quiet
    if code != 0 and not unborn:
        message = _first_line(stderr)
        if "not a git repository" in message:
            raise ScanError(f"{path.resolve()} is not inside a git repository")
        if "work tree" in message:
            raise ScanError(f"{path.resolve()} is a bare repository: it has no index to scan")
        raise ScanError(f"cannot read the repository at {path}: {message}")
    return Repo(
        root=Path(lines[0]), git_dir=Path(lines[1]), head=None if unborn else lines[2].strip()
    )


def _find_repo_slowly(cwd: Path) -> Repo:
    def answer(*args: str) -> str:
        return run_git(["rev-parse", *args], cwd).decode("utf-8", "surrogateescape")[:-1]

    head = try_git(["rev-parse", "--verify", "-q", "HEAD^{commit}"], cwd)
    return Repo(
        root=Path(answer("--show-toplevel")),
        git_dir=Path(answer("--absolute-git-dir")),
        head=head.decode().strip() if head else None,
    )


def require_repo(path: Path, not_a_repo: str) -> bytes:
    """`git rev-parse --absolute-git-dir` in `path`; when git refuses, why, in one line:
    `not_a_repo` when it is no repository, else git's own reason (dubious ownership…)."""
    special_files.refuse_special_files(path)  # a FIFO where git opens a file: git would hang
    out, errors = try_git_warnings(["rev-parse", "--absolute-git-dir"], path)
    if out is not None:
        return out
    message = _first_line("\n".join(errors).encode("utf-8", "surrogateescape"))
    if "not a git repository" in message:
        raise ScanError(not_a_repo)
    raise ScanError(f"cannot read the repository at {path}: {message}")


def refuse_a_repository_above(path: Path, found: Path, git_dir: Path, whole: bool) -> None:
    """Refuse (ScanError) to read `found`, the repository git's discovery found from
    `path`, when `path` is not in fact part of it. Discovery walks up: a repository whose
    `.git` git does not accept (a damaged HEAD), or a plain directory the outer repository
    ignores, would otherwise be read as the repository around it, under its own name.

    `whole`: `path` must be the repository itself (its top level or its git directory), as
    an audit target must. Otherwise a directory of the work tree is accepted as git accepts
    it (`history` run from a subdirectory), unless it or a directory between it and the top
    level holds a repository git did not take, or the outer repository ignores it.
    """
    here = path.resolve()
    top = found.resolve()
    if here in (top, git_dir.resolve()):
        return
    inside = top in here.parents
    if not inside and not whole:
        return  # GIT_DIR/GIT_WORK_TREE name the repository: no discovery walked up
    for directory in (here, *here.parents) if inside else ():
        if directory == top:
            break
        dot_git = directory / ".git"
        bare = (directory / "HEAD").is_file() and (directory / "objects").is_dir()
        if dot_git.exists() or dot_git.is_symlink() or bare:
            raise ScanError(
                f"{directory} is not a git repository git can read (damaged, or not one): "
                f"git would read the repository {top} around it instead"
            )
    if whole:
        raise ScanError(f"{here} is not a git repository: git would read {top} instead")
    # Exit 0: ignored. A directory the outer repository ignores is no part of its work tree.
    if try_git(["check-ignore", "-q", "--", str(here)], top) is not None:
        raise ScanError(
            f"{here} is not a git repository: it is a directory that the repository {top} "
            "around it ignores"
        )


def has_commit(cwd: Path, rev: str = "HEAD") -> bool:
    return try_git(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], cwd) is not None


def is_partial_clone(cwd: Path) -> bool:
    """A clone made with --filter: objects it lacks live on a promisor remote."""
    out = try_git(
        ["config", "--get-regexp", r"^(extensions\.partialclone|remote\..*\.promisor)$"], cwd
    )
    return any(
        line.split()[-1:] != [b"false"] for line in (out or b"").splitlines() if line.strip()
    )


def promisor_remote(cwd: Path) -> str | None:
    """The remote a partial clone's absent objects come from (its first promisor remote)."""
    out = try_git(["config", "--get-regexp", r"^remote\..*\.promisor$"], cwd)
    for line in (out or b"").decode("utf-8", "surrogateescape").splitlines():
        name, _, value = line.partition(" ")
        if value.strip() != "false":
            return name.removeprefix("remote.").removesuffix(".promisor")
    return None


def empty_tree(cwd: Path) -> str:
    # Asked of git rather than hard-coded so SHA-256 repositories work too.
    return run_git(["hash-object", "-t", "tree", "/dev/null"], cwd).decode().strip()


def object_sizes(cwd: Path, object_ids: list[str]) -> dict[str, int]:
    """Sizes of objects, without reading them (one `git cat-file --batch-check`)."""
    out = run_git(
        ["cat-file", "--batch-check=%(objectname) %(objectsize)"],
        cwd,
        input="".join(f"{oid}\n" for oid in object_ids).encode(),
    )
    sizes: dict[str, int] = {}
    for line in out.decode("ascii", "replace").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            sizes[parts[0]] = int(parts[1])
    return sizes


def cat_file(cwd: Path, object_ids: Iterable[str]) -> Iterator[tuple[str, str, bytes]]:
    """Stream (id, type, data) for each object through one `git cat-file --batch`.

    A thread feeds the ids while we read, so git never blocks on a full pipe. A missing
    object yields type 'missing' and no data.
    """
    for oid, kind, data, _ in cat_file_bounded(cwd, object_ids):
        yield oid, kind, data if data is not None else b""


def cat_file_bounded(
    cwd: Path, object_ids: Iterable[str], hold: int | None = None, flush: bool = False
) -> Iterator[tuple[str, str, bytes | None, int]]:
    """cat_file, with each object's size; an object larger than `hold` bytes is passed
    over in the stream and yielded with None for its data (the caller reads it in chunks:
    object_chunks). `flush`: each id is sent as it comes, for `object_ids` that wait on
    what was read (a tag of a tag's target is asked once its tag is read)."""
    proc = popen(["cat-file", "--batch"], cwd, stdin=PIPE, stdout=PIPE, stderr=DEVNULL)
    assert proc.stdin is not None and proc.stdout is not None
    stdin, stdout = proc.stdin, proc.stdout

    def feed() -> None:
        try:
            for oid in object_ids:
                stdin.write(oid.encode() + b"\n")
                if flush:
                    stdin.flush()
            stdin.close()
        except (BrokenPipeError, ValueError):
            pass

    writer = threads.start(feed)
    try:
        yield from _parse_batch_sized(stdout, hold)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        writer.join(timeout=1)
        stdout.close()


def parse_batch(stdout: IO[bytes]) -> Iterator[tuple[str, str, bytes]]:
    """(id, type, data) for each object of a `git cat-file --batch` stream.

    Output that does not follow the format (a header that is not "<id> <type> <size>", an
    object cut short) raises ScanError: never a wrong or partial object.
    """
    for oid, kind, data, _ in _parse_batch_sized(stdout, None):
        yield oid, kind, data if data is not None else b""


def _parse_batch_sized(
    stdout: IO[bytes], hold: int | None
) -> Iterator[tuple[str, str, bytes | None, int]]:
    while True:
        header = stdout.readline()
        if not header:
            break
        # `<name> missing` echoes the name asked for, which may hold spaces
        # (MERGE_HEAD:a file.py): split from the right.
        stripped = header.rstrip(b"\n")
        name, _, last = stripped.rpartition(b" ")
        if last in (b"missing", b"ambiguous"):
            yield name.decode("utf-8", "surrogateescape"), "missing", b"", 0
            continue
        parts = stripped.split()
        if len(parts) != 3 or not parts[2].isdigit() or not parts[0].isascii():
            raise ScanError(f"unexpected output from git cat-file: {header[:80]!r}")
        size = int(parts[2])
        oid, kind = parts[0].decode(), parts[1].decode("utf-8", "replace")
        if hold is not None and size > hold:
            left = size
            while left and (piece := stdout.read(min(left, 1 << 20))):
                left -= len(piece)
            if left or stdout.read(1) != b"\n":
                raise ScanError("git cat-file stopped in the middle of an object")
            yield oid, kind, None, size
            continue
        data = stdout.read(size)
        if len(data) != size or stdout.read(1) != b"\n":
            raise ScanError("git cat-file stopped in the middle of an object")
        yield oid, kind, data, size


# -- the sharded history read (sources/history.py): its process starts live here ----------


def has_batch_command() -> bool:
    """git 2.36+: `cat-file --batch-command`, whose `flush` lets one cat-file serve many
    runs of objects."""
    found = _git_version()
    return found is not None and found >= (2, 36)


def batch_command(cwd: Path, batch_format: str) -> Process:
    """A long-lived `git cat-file --batch-command=FORMAT --buffer` (git 2.36+): the caller
    writes `contents <id>` lines and `flush`, reads the objects, and ends it by closing
    its stdin. Started through popen: the read-only environment."""
    return popen(
        ["cat-file", f"--batch-command={batch_format}", "--buffer"],
        cwd,
        stdin=PIPE,
        stdout=PIPE,
        stderr=DEVNULL,
    )


def batch_objects(cwd: Path, listing: bytes, batch_format: str) -> Process:
    """A `git cat-file --batch=FORMAT --buffer` reading `listing` (object ids, or lines of
    `git rev-list --objects`) from a temporary file, so that no thread has to feed it; the
    caller reads its stdout and waits for it. Started through popen: the read-only environment."""
    import tempfile

    with tempfile.TemporaryFile(prefix="kimi-secret-scan-") as names:
        names.write(listing)
        names.seek(0)
        return popen(
            ["cat-file", f"--batch={batch_format}", "--buffer"],
            cwd,
            stdin=names,
            stdout=PIPE,
            stderr=DEVNULL,
        )


def _die_with_parent(sig: int) -> None:
    """On Linux, ask the kernel to end this worker when its parent dies, however it dies
    (SIGKILL, the OOM killer): an orphaned worker would keep reading the repository and hold
    the CI job's output pipes open. Elsewhere, or if the call is refused, nothing changes."""
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, sig, 0, 0, 0)
    except (OSError, AttributeError):
        return
    import multiprocessing

    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:
        os._exit(1)  # the parent died before the request took effect


def _worker_start(temp_dir: str | None = None, start: Callable[[], object] | None = None) -> None:
    # Ctrl-C reaches the whole process group: the parent alone handles it (it stops the
    # workers, whose cat-file then ends on a closed pipe), so no worker prints a traceback.
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        # Started with SIGINT blocked (worker_start_guard): a Ctrl-C that came meanwhile
        # is pending, and is discarded now that it is ignored.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    # SIGTERM to the group ends a worker at once (the parent's handler, inherited by a
    # fork, would raise in it and print a traceback); the parent cleans up after it.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent(signal.SIGTERM)
    if temp_dir is not None:
        # The parent kills its workers on Ctrl-C: no finally runs there, so a named
        # temporary file (a large container's spool, an unpacked member, each holding
        # whole keys) would be left behind. They go into a directory the parent removes.
        import tempfile

        tempfile.tempdir = temp_dir
    if start is not None:
        # The worker's own set-up (its cat-file), done as it starts rather than at its
        # first task: the pool is started before the listing's first run is written.
        with contextlib.suppress(Exception):  # asked again by the task, which says why
            start()


@contextlib.contextmanager
def worker_start_guard() -> Iterator[None]:
    """SIGINT blocked while the pool may start workers (a submit): a worker ignores Ctrl-C
    from its initializer on, and one that came between its fork and that point raised
    KeyboardInterrupt in it, printing a traceback. The mask is inherited; the initializer
    unblocks it. In the parent, a Ctrl-C that came meanwhile is raised when the block ends."""
    import signal

    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def worker_pool(
    workers: int, temp_dir: str | None = None, start: Callable[[], object] | None = None
) -> concurrent.futures.ProcessPoolExecutor:
    """`workers` processes for the sharded history read. Forked where the platform allows
    it (Linux): a worker starts with the parent's modules already imported, in ~1 ms,
    instead of importing them again (~100 ms each with spawn). `temp_dir`: where the
    workers create their temporary files (the caller removes it after the pool); `start`:
    what each worker does first (picklable where workers are spawned)."""
    import concurrent.futures
    import multiprocessing
    import sys

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    if sys.platform == "darwin":
        method = "spawn"  # fork is unsafe with macOS system libraries
    if method == "fork" and sys.platform.startswith("linux"):
        # What every worker imports as it starts (_die_with_parent), imported once here.
        with contextlib.suppress(ImportError):
            import ctypes  # noqa: F401
    return concurrent.futures.ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context(method),
        initializer=_worker_start,
        initargs=(temp_dir, start),
    )


def usable_cpus() -> int:
    """The CPUs this process may run on (taskset and cgroups' cpusets included)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def in_daemon_process() -> bool:
    """True in a daemonic multiprocessing worker (the organisation audit's), which
    multiprocessing forbids to start a worker pool of its own."""
    import multiprocessing

    return bool(multiprocessing.current_process().daemon)


def blob_chunks(cwd: Path, name: str, chunk: int = 1 << 20) -> Iterator[bytes]:
    """A blob (an id, or `REV:PATH`) in chunks as `git cat-file blob` writes it, never held
    whole; a failure (a missing object) raises ScanError after what was read."""
    return object_chunks(cwd, "blob", name, chunk)


def object_chunks(
    cwd: Path, kind: str, name: str, chunk: int = 1 << 20, offset: int = 0
) -> Generator[bytes, None, None]:
    """An object of type `kind` (blob, commit, tag) in chunks as `git cat-file KIND`
    writes it, from byte `offset` on, never held whole; a failure raises ScanError after
    what was read."""
    proc = popen(["cat-file", kind, name], cwd, stdout=PIPE, stderr=PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    try:
        while data := proc.stdout.read(chunk):
            if offset >= len(data):
                offset -= len(data)
                continue
            yield data[offset:] if offset else data
            offset = 0
    finally:
        if proc.poll() is None:
            proc.kill()
        error = proc.stderr.read()
        code = proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    if code != 0:
        raise ScanError(f"git cat-file {kind} {name} failed: {_first_line(error)}")
