"""What to do about a key: by the kind of key (which console revokes it) and by the stage
the key has reached (which decides whether to revoke, and how to take it out).

Advice is routed by kind because the consoles are not interchangeable: a Kimi Code key is
managed only in the Kimi Code Console, and China (.cn) and international (.ai) platform
keys live in separate accounts.

Three stages, one model (issue 12):
- not yet committed (`staged`): nothing left this machine through git;
- committed, not pushed (`commit-msg`, `pre-push`): nothing left it either;
- published (`range`, `ci`, `pre-receive`, `history`): the key crossed the network, so it
  is revoked first, always.
Each plan says, in order and only where it applies: whether to revoke, how to take the key
out (unstage and edit; rewrite the local commits, named; purge published history), and how
to keep it out (an environment variable in code; for a `.env` or secrets file, keep the
value and stop tracking the file). Steps shared by several keys are printed once.

Every command a plan prints is on its own line after `$ `, runnable as printed in the
situation it is printed for; the tests run each one (tests/test_remedy.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from kimi_secret_scan import inert, record
from kimi_secret_scan.finding import Finding, KeyKind
from kimi_secret_scan.redaction import redact_text
from kimi_secret_scan.verdict import Verdict, rank, tagged

KIMI_CODE_CONSOLE = "https://www.kimi.com/code/console"
PLATFORM_CN_CONSOLE = "https://platform.moonshot.cn/console/api-keys"
PLATFORM_INTL_CONSOLE = "https://platform.moonshot.ai/console/api-keys"

KIND_NAMES = {
    KeyKind.KIMI_CODE: "Kimi Code key",
    KeyKind.PLATFORM_CN: "Moonshot Open Platform key (China, platform.moonshot.cn)",
    KeyKind.PLATFORM_INTL: "Moonshot Open Platform key (international, platform.moonshot.ai)",
    KeyKind.PLATFORM: "Moonshot Open Platform key (region unknown)",
    KeyKind.UNKNOWN: "key of unknown issuer",
}

_ENV_VAR = {
    KeyKind.KIMI_CODE: "KIMI_API_KEY",
    KeyKind.PLATFORM_CN: "MOONSHOT_API_KEY",
    KeyKind.PLATFORM_INTL: "MOONSHOT_API_KEY",
    KeyKind.PLATFORM: "MOONSHOT_API_KEY",
    KeyKind.UNKNOWN: "KIMI_API_KEY",
}


def console_hint(kind: str) -> str:
    """One line naming where this kind of key is revoked."""
    if kind == KeyKind.KIMI_CODE:
        return f"revoke it in the Kimi Code Console ({KIMI_CODE_CONSOLE})"
    if kind == KeyKind.PLATFORM_CN:
        return f"revoke it on the China platform ({PLATFORM_CN_CONSOLE})"
    if kind == KeyKind.PLATFORM_INTL:
        return f"revoke it on the international platform ({PLATFORM_INTL_CONSOLE})"
    return (
        "revoke it on the Moonshot platform: the region is unknown, so look in both consoles, "
        f"{PLATFORM_CN_CONSOLE} and {PLATFORM_INTL_CONSOLE}"
    )


def console_line(kind: str) -> str:
    """Where this kind of key is managed, with no verdict on whether to revoke it (that
    depends on the stage, and the plan below the findings says it once)."""
    if kind == KeyKind.KIMI_CODE:
        return f"Kimi Code key, managed in the Kimi Code Console ({KIMI_CODE_CONSOLE})"
    if kind == KeyKind.PLATFORM_CN:
        return f"China platform key, managed at {PLATFORM_CN_CONSOLE}"
    if kind == KeyKind.PLATFORM_INTL:
        return f"international platform key, managed at {PLATFORM_INTL_CONSOLE}"
    if kind == KeyKind.PLATFORM:
        return "Open Platform key, region unknown (China or international console, see below)"
    return "issuer unknown (see below)"


def _where_revoked(kind: str) -> str:
    """The console, in a few words, for the short list of an unpublished plan."""
    if kind == KeyKind.KIMI_CODE:
        return f"{KIMI_CODE_CONSOLE} → API Keys"
    if kind == KeyKind.PLATFORM_CN:
        return f"{PLATFORM_CN_CONSOLE} → API Key 管理"
    if kind == KeyKind.PLATFORM_INTL:
        return f"{PLATFORM_INTL_CONSOLE} → API Keys"
    return (
        f"whichever of {PLATFORM_CN_CONSOLE} (China) and {PLATFORM_INTL_CONSOLE} "
        "(international) lists it"
    )


def revoke_steps(kind: str, keys: list[str]) -> list[str]:
    """Revoke and rotate, for keys of one kind (given redacted)."""
    listed = ", ".join(keys)
    if kind == KeyKind.KIMI_CODE:
        where = [
            f"Revoke {listed}: open the Kimi Code Console, {KIMI_CODE_CONSOLE} → API Keys, and "
            "delete the key. Kimi Code keys are not managed on platform.moonshot.cn/.ai.",
        ]
    elif kind == KeyKind.PLATFORM_CN:
        where = [
            f"Revoke {listed}: open {PLATFORM_CN_CONSOLE} (also reachable as "
            "platform.kimi.com) → API Key 管理, and delete the key.",
        ]
    elif kind == KeyKind.PLATFORM_INTL:
        where = [
            f"Revoke {listed}: open {PLATFORM_INTL_CONSOLE} (also reachable as "
            "platform.kimi.ai) → API Keys, and delete the key.",
        ]
    else:
        where = [
            f"Revoke {listed}: the region is not known, so check both consoles, "
            f"{PLATFORM_CN_CONSOLE} (China) and {PLATFORM_INTL_CONSOLE} (international); "
            "the one that lists the key revokes it. If neither does, look in the Kimi Code "
            f"Console ({KIMI_CODE_CONSOLE}) or the relay service that issued it.",
        ]
    env = _ENV_VAR.get(kind, "KIMI_API_KEY")
    return [
        *where,
        "Create a new key in the same console (it is shown once; an account holds at most "
        "5 keys) and check the account's usage for spending you do not recognise.",
        f"Keep the new key out of the code: put it in an environment variable ({env}) or "
        "your secret store / CI secret, and read it at run time.",
    ]


# -- stages --------------------------------------------------------------------------------

UNCOMMITTED = "uncommitted"  # staged: the next commit would add it
UNPUSHED = "unpushed"  # commit-msg, pre-push: on this machine only
PUBLISHED = "published"  # range, ci, pre-receive, history: it crossed the network
WORKTREE = "worktree"  # files: where the file has been is not known

_STAGES = {
    "staged": UNCOMMITTED,
    "commit-msg": UNPUSHED,
    "pre-push": UNPUSHED,
    "range": PUBLISHED,
    "ci": PUBLISHED,
    "pre-receive": PUBLISHED,
    "history": PUBLISHED,
}

# The hook ids of .pre-commit-hooks.yaml, for `SKIP=<id>`.
PRE_COMMIT_HOOK_IDS = {
    "staged": "kimi-secret-scan",
    "commit-msg": "kimi-secret-scan-commit-msg",
    "pre-push": "kimi-secret-scan-push",
}
_GIT_ACTION = {"staged": "git commit", "commit-msg": "git commit", "pre-push": "git push"}


def stage_of(mode: str) -> str:
    return _STAGES.get(mode, WORKTREE)


@record.mutable
@dataclass(init=False, repr=False, eq=False)
class Leak:
    """One distinct key of a report: what a plan needs to know about it."""

    shown: str  # redacted, or whole under --show-secrets
    kind: str
    sha256: str
    places: list[tuple[str, int]] = field(default_factory=list)  # (path, line), in order
    commits: list[str] = field(default_factory=list)  # full ids, in commit order
    roots: set[str] = field(default_factory=set)  # those of `commits` with no parent
    # A place inside a container (`bundle.zip!app/.env`) -> the container file: what a
    # command names (no git command knows a member path).
    containers: dict[str, str] = field(default_factory=dict)

    def __init__(
        self,
        shown: str,
        kind: str,
        sha256: str,
        places: list[tuple[str, int]] | None = None,
        commits: list[str] | None = None,
        roots: set[str] | None = None,
        containers: dict[str, str] | None = None,
    ) -> None:
        self.shown = shown
        self.kind = kind
        self.sha256 = sha256
        self.places = [] if places is None else places
        self.commits = [] if commits is None else commits
        self.roots = set() if roots is None else roots
        self.containers = {} if containers is None else containers

    @property
    def paths(self) -> list[str]:
        return list(dict.fromkeys(path for path, _ in self.places))


def leaks_from(findings: Sequence[Finding], show_secrets: bool) -> list[Leak]:
    """One Leak per distinct key, in the order of the findings (commit order for commits)."""
    by_key: dict[str, Leak] = {}
    verdicts: dict[str, Verdict | None] = {}
    for f in findings:
        verdicts.setdefault(f.secret_sha256, f.verification)
        leak = by_key.get(f.secret_sha256)
        if leak is None:
            leak = by_key[f.secret_sha256] = Leak(
                f.shown_secret(show_secrets), f.key_kind, f.secret_sha256
            )
        if (f.path, f.line) not in leak.places:
            leak.places.append((f.path, f.line))
        if f.member is not None:
            leak.containers[f.path] = f.file
        # A tag's object is no commit to redo: tag_steps re-creates the tag instead.
        if f.commit and f.commit.sha and f.commit.sha not in leak.commits and not _tagged(f.path):
            leak.commits.append(f.commit.sha)
            if f.commit.parents == ():
                leak.roots.add(f.commit.sha)
    # With --verify, each key says what its service said, and live keys come first: they
    # are the ones to revoke now.
    leaks = sorted(by_key.values(), key=lambda leak: rank(verdicts.get(leak.sha256)))
    for leak in leaks:
        leak.shown = tagged(leak.shown, verdicts.get(leak.sha256))
    return leaks


def at_head(
    leaks: Sequence[Leak], moved: dict[str, str | None]
) -> tuple[list[Leak], list[list[str]]]:
    """`leaks` with each file a later commit of the range renamed named as HEAD holds it
    now, and one deleted left out (a command naming the old path fails: exit 128); and the
    step saying so (ScanResult.at_head)."""
    if not moved:
        return list(leaks), []
    out: list[Leak] = []
    deleted: list[str] = []
    renamed: list[str] = []
    for leak in leaks:
        places: list[tuple[str, int]] = []
        containers: dict[str, str] = {}
        for place, line in leak.places:
            path = leak.containers.get(place, place)
            if path not in moved:
                places.append((place, line))
                if place in leak.containers:
                    containers[place] = path
                continue
            now = moved[path]
            if now is None:
                if path not in deleted:
                    deleted.append(path)
                continue
            if f"{path} (now {now})" not in renamed:
                renamed.append(f"{path} (now {now})")
            if place in leak.containers:
                places.append((place, line))
                containers[place] = now
            else:
                places.append((now, line))
        copy = Leak(leak.shown, leak.kind, leak.sha256, places, list(leak.commits))
        copy.roots, copy.containers = set(leak.roots), containers
        out.append(copy)
    lines: list[str] = []
    if renamed:
        lines.append(
            f"Renamed by a later commit of these: {_listed(renamed)}: the steps below name "
            "each file as HEAD holds it now."
        )
    if deleted:
        lines.append(
            f"Deleted by a later commit of these: {_listed(deleted)}: nothing to stage for "
            "it; redoing the commits as one (below) leaves it out. If `git commit` then says "
            "there is nothing to commit, those commits added nothing else: the branch is "
            "already back where it was before them, without the key."
        )
    return out, [lines]


def _by_kind(leaks: Sequence[Leak]) -> dict[str, list[str]]:
    kinds: dict[str, list[str]] = {}
    for leak in leaks:
        kinds.setdefault(leak.kind, []).append(leak.shown)
    return kinds


# -- what kind of file holds the key -------------------------------------------------------

_EXAMPLE_MARKERS = (".example", ".sample", ".template", ".dist", ".tmpl", ".tpl")
_SECRETS_NAMES = {".env", ".envrc", ".secrets", ".netrc", "secrets.toml", "secrets.json"}
_SECRETS_NAMES |= {"secrets.yaml", "secrets.yml", "secrets.ini"}

CODE, SECRETS, EXAMPLE, MESSAGE, NAME = "code", "secrets", "example", "message", "name"
_ARCHIVE = "archive"  # a file inside a container: the container is what is fixed and staged
_KEYED = "keyed"  # a file whose own name holds a key (no command can name it unredacted)
# Where the gates report what is not a file's content (sources/metadata.py): a commit's or a
# tag's message, header lines and people, notes (reworded with the commit), and the names of
# files and refs (renamed). `history` names a message `<commit message>`.
_MESSAGE_PLACES = (
    "commit message of ",
    "commit header of ",
    "tag message of ",
    "tag header of ",
    "author of ",
    "committer of ",
    "tagger of ",
    "note on ",
)
_NAME_PLACES = ("path name in ", "path names", "ref name")


def file_kind(path: str) -> str:
    """How a file is fixed: code reads the key from the environment; a `.env` or secrets
    file is where the key belongs, so it stays and the file is no longer tracked; an example
    file gets a placeholder; a commit or tag message is reworded."""
    if path.startswith("<") or path.startswith(_MESSAGE_PLACES):
        return MESSAGE
    if path.startswith(_NAME_PLACES):
        return NAME
    name = PurePosixPath(path).name.lower()
    if any(marker in name for marker in _EXAMPLE_MARKERS):
        return EXAMPLE
    if name in _SECRETS_NAMES or name.startswith((".env.", "credentials")) or name.endswith(".env"):
        return SECRETS
    return CODE


def _q(path: str) -> str:
    return inert.shell_word(path)


def _paths(paths: Sequence[str]) -> str:
    return " ".join(_q(p) for p in paths)


# Without --literal-pathspecs git reads a path argument as a pathspec: a leading `:` is
# magic (`:!x.env` excludes, so `git rm --cached` would take out every other file) and
# `*?[` are wildcards (they would match other files too).
_PATHSPEC_SPECIAL = ("*", "?", "[", "\\")


def _git(paths: Sequence[str]) -> str:
    """`git`, told to read the paths of its command as the names they are where one of
    them would be read otherwise (kept short for the usual names)."""
    odd = any(p.startswith(":") or any(c in p for c in _PATHSPEC_SPECIAL) for p in paths)
    return "git --literal-pathspecs" if odd else "git"


def _ignore_pattern(path: str) -> str:
    """A .gitignore line matching exactly this path from the root: `\\` escapes what the
    patterns read (`\\ * ? [`, a leading `!` or `#`, trailing spaces); a line break,
    which no pattern line can hold, is matched by `?` (any one character)."""
    escaped = "".join("?" if ch in "\n\r" else "\\" + ch if ch in "\\*?[!# " else ch for ch in path)
    return "/" + escaped


def _listed(items: Sequence[str]) -> str:
    return ", ".join(items)


# Where a gate's commands start: its paths are from the work tree's top level, and the user
# pastes them where they typed `git commit` (often a subdirectory; the hook ran at the top).
TOP_LEVEL = '"$(git rev-parse --show-toplevel)"'


def at_top(steps: list[list[str]], top: str) -> list[list[str]]:
    """Each command of `steps` run from the top level `top` (a shell word): pasted from any
    directory of the work tree, its paths (and the .gitignore it writes) are the right ones."""
    return [[f"$ cd {top} && {ln[2:]}" if ln.startswith("$ ") else ln for ln in s] for s in steps]


def file_steps(
    leaks: Sequence[Leak],
    commands: bool,
    then: str,
    rotated: bool = False,
    top: str = TOP_LEVEL,
) -> list[list[str]]:
    """How to take the keys out of the files that hold them, and keep them out: one step
    per way of fixing (code, secrets file, example), each listing its files once.
    `commands`: print the git commands (the files are in a git work tree, paths from its
    root, each command starting with a `cd` to `top`); `then` ends each step ("commit",
    "stage the edit", ...); `rotated`: the keys were published, so a secrets file gets the
    new key, not the old value."""
    return at_top(_file_steps(leaks, commands, then, rotated), top)


def _file_steps(
    leaks: Sequence[Leak], commands: bool, then: str, rotated: bool = False
) -> list[list[str]]:
    groups: dict[str, list[str]] = {CODE: [], SECRETS: [], EXAMPLE: [], NAME: [], _KEYED: []}
    groups[_ARCHIVE] = []
    members: dict[str, list[str]] = {}  # container -> its members that hold a key
    env_vars: list[str] = []
    for leak in leaks:
        for place in leak.paths:
            path = leak.containers.get(place, place)
            kind = _ARCHIVE if place in leak.containers else file_kind(path)
            if kind == _ARCHIVE:
                inside = members.setdefault(path, [])
                if place not in inside:
                    inside.append(place)
            if kind in (CODE, SECRETS, EXAMPLE, _ARCHIVE) and redact_text(path) != path:
                # The file's name holds a key too (in any spelling the detectors read): it
                # is printed redacted, so a command naming it could not be pasted.
                kind = _KEYED
            if kind in groups and path not in groups[kind]:
                groups[kind].append(path)
            if kind == CODE:
                var = _ENV_VAR.get(leak.kind, "KIMI_API_KEY")
                if var not in env_vars:
                    env_vars.append(var)
    steps: list[list[str]] = []
    renamed = groups[NAME]
    if renamed:
        # No command: the old name holds the key, and a printed command would show it whole.
        steps.append(
            [
                f"In {_listed(renamed)}: the name of a file, folder or ref holds the key: rename "
                "it (`git mv` for a file or folder, `git branch -m` / a new tag for a ref; "
                f"the name is shown above redacted); then {then}."
            ]
        )
    keyed = groups[_KEYED]
    if keyed:
        steps.append(
            [
                f"In {_listed(keyed)}: the file's name holds a key too (shown redacted), so no "
                "command is printed for it: one naming the file would show the key. Rename "
                "it (`git mv`, your shell's completion types the old name), take the key out "
                "of its content (read it from the environment; for a `.env` file, also add "
                f"the new name to .gitignore and `git rm --cached` it); then {then}."
            ]
        )
    archives = groups[_ARCHIVE]
    if archives:
        held = _listed([m for a in archives for m in members[a]])
        text = (
            f"In {_listed(archives)} (the key is in {held}): a file inside an archive is "
            "fixed in the archive: build it again without the key (leave the secrets file "
            "out, or read the key from the environment)"
        )
        if commands:
            steps.append([f"{text}; then {then}:", f"$ {_git(archives)} add -- {_paths(archives)}"])
        else:
            steps.append([f"{text}; then {then}."])
    code = groups[CODE]
    if code:
        text = (
            f"In {_listed(code)}: read the key from the environment instead of writing it "
            f"in the file ({' or '.join(env_vars)}, set outside the repository: a `.env` file "
            "that is not tracked, your secret store, a CI secret)"
        )
        if commands:
            steps.append([f"{text}; then {then}:", f"$ {_git(code)} add -- {_paths(code)}"])
        else:
            steps.append([f"{text}; then {then}."])
    secrets = groups[SECRETS]
    if secrets:
        names = _listed(secrets)
        verb = "is" if len(secrets) == 1 else "are"
        value = "put the new key there" if rotated else "the key may stay there: keep the value"
        text = (
            f"{names} {verb} where the variable is set, so {value}; and stop tracking the "
            "file (ignore it and take it out of the index; the file stays on disk)"
        )
        if commands:
            ignore = " ".join(_q(_ignore_pattern(p)) for p in secrets)
            steps.append(
                [
                    f"{text}:",
                    # The leading newline: a .gitignore without a final one keeps its last line.
                    f"$ printf '\\n%s\\n' {ignore} >> .gitignore && {_git(secrets)} rm "
                    f"--cached -q -- {_paths(secrets)} && git add .gitignore",
                ]
            )
        else:
            steps.append([f"{text}: add it to .gitignore and run `git rm --cached` on it."])
    example = groups[EXAMPLE]
    if example:
        text = (
            f"In {_listed(example)}: an example file shows the shape, not a key: replace the "
            "key with a placeholder (for example sk-your-key-here)"
        )
        if commands:
            steps.append([f"{text}; then {then}:", f"$ {_git(example)} add -- {_paths(example)}"])
        else:
            steps.append([f"{text}; then {then}."])
    return steps


# -- the plan of a report that is not a history audit ----------------------------------------


def _revoke_if_shared(leaks: Sequence[Leak], reason: str) -> list[str]:
    """Unpublished keys: revoking is not needed because of this, but wise if they were
    anywhere else. Said once, with each kind's console once."""
    lines = [
        f"Revoke? {reason}, so this alone is no reason to rotate "
        + (
            "the key. Revoke it if it was ever anywhere else"
            if len(leaks) == 1
            else "the keys. Revoke any that was ever anywhere else"
        )
        + " (another repository, a chat, a ticket, a log, a shared drive), or if you are not "
        "sure where it has been:"
    ]
    for kind, keys in _by_kind(leaks).items():
        lines.append(f"  {_listed(keys)}, {KIND_NAMES[kind]}: {_where_revoked(kind)}")
    return lines


def _revoke_first(leaks: Sequence[Leak], why: str) -> list[list[str]]:
    """Published keys: revoke and rotate every key, first; each kind's steps once."""
    lines = [f"Revoke and rotate every key, first ({why}):"]
    for kind, keys in _by_kind(leaks).items():
        lines.append(f"{KIND_NAMES[kind]}: {_listed(keys)}")
        lines += [
            f"  {letter}. {text}"
            for letter, text in zip("abc", revoke_steps(kind, keys), strict=False)
        ]
    return [lines]


def _commits_named(leaks: Sequence[Leak]) -> list[str]:
    return list(dict.fromkeys(sha for leak in leaks for sha in leak.commits))


def rewrite_steps(leaks: Sequence[Leak], then: str) -> list[list[str]]:
    """Take the keys out of local commits: the commits named, and a non-interactive way to
    redo them (reset to before the first, keep the fixed index, commit again)."""
    commits = _commits_named(leaks)
    if not commits:
        return []
    first = commits[0]
    short = [c[:12] for c in commits]
    in_message = any(
        file_kind(p) == MESSAGE and not _tagged(p) for leak in leaks for p in leak.paths
    )
    # A key in an author or committer: a new commit takes them from user.name / user.email.
    in_identity = any(
        p.startswith(("author of ", "committer of ")) for leak in leaks for p in leak.paths
    )
    roots = {c for leak in leaks for c in leak.roots}
    named = f"commit {short[0]}" if len(short) == 1 else f"commits {_listed(short)}"
    them = "the key" if len(leaks) == 1 else "the keys"
    lines = [
        f"Take {them} out of {named}: with the fixed files staged as above, redo the "
        f"commits from {short[0]} on as one commit"
        + (
            " (it is a root commit, with no parent to go back to: the branch is emptied, the "
            "staged files kept)"
            if first in roots
            else ""
        )
        + ":"
    ]
    if first in roots:
        lines.append("$ git update-ref -d HEAD")
    else:
        lines.append(f"$ git reset --soft {first[:12]}^")
    if in_message:
        lines.append(
            "then commit with a message that does not hold the key (`git commit`"
            + (
                "; set `user.name` and `user.email` first: the key is in an author or committer"
                if in_identity
                else ""
            )
            + "). "
            f"To keep the commits apart instead: `git rebase -i {first[:12]}^`, mark the "
            "commits `reword` or `edit`, and fix each."
        )
    else:
        lines.append(f"$ git commit -q -C {first[:12]}")
        lines.append(
            f"(`-C` reuses the message and author of {short[0]}. If it is your last commit, "
            f"`git commit --amend --no-edit` does the same; to keep several commits apart, "
            f"`git rebase -i {first[:12]}^` and mark them `edit`.) Then {then}."
        )
    return [lines]


_TAG_PLACES = ("tag message of ", "tag header of ", "tagger of ")


def _tagged(path: str) -> bool:
    """The place is an annotated tag's (its message, header or tagger), not a commit's."""
    return path.startswith(_TAG_PLACES)


def tag_steps(leaks: Sequence[Leak], then: str) -> list[list[str]]:
    """A key in an annotated tag (its message, header or tagger): the tag object holds it,
    so the tag is made again without it; on the new commit when it named one the step
    before redoes (from the first commit redone on), else on the commit it named."""
    names: list[str] = []
    tagger = False
    for leak in leaks:
        for place in leak.paths:
            if not _tagged(place):
                continue
            name = place.split(" of ", 1)[1]
            while name.endswith("^{}"):  # a tag of a tag: the outer one is re-created
                name = name[: -len("^{}")]
            tagger = tagger or place.startswith("tagger of ")
            if name not in names:
                names.append(name)
    if not names:
        return []
    first = _commits_named(leaks)[0][:12] if _commits_named(leaks) else None
    shown = [n for n in names if redact_text(n) == n]  # a name holding a key gets no command
    # A tag object under a ref outside refs/tags/ (`git push R <tag>:refs/custom/x`) is
    # named by its full ref name: `git tag` would make refs/tags/refs/custom/x instead.
    elsewhere = [n for n in shown if n.startswith("refs/")]
    shown = [n for n in shown if n not in elsewhere]
    lines = [
        f"The key is in the annotated tag {_listed(names)} (its "
        + ("tagger" if tagger else "message")
        + "): the tag object holds it, so make the tag again, with a message that does not "
        "hold the key (edit the `-m`)"
        + ("; set `user.name` and `user.email` first: the key is in the tagger" if tagger else "")
        + (
            f", on the new commit if it named one of the commits redone above (from {first} "
            "on), else on the commit it names"
            if first
            else ", on the commit it names"
        )
        + f"; then {then.replace('<tag>', ' '.join(_q(n) for n in shown) or '<tag>')}"
        + (":" if shown else ".")
    ]
    for name in shown:
        peeled = _q(name + "^{}")
        target = (
            f'"$(git merge-base --is-ancestor {first} {peeled} && echo HEAD || echo {peeled})"'
            if first
            else peeled
        )
        lines.append(f"$ git tag -f -a -m {_q('Release ' + name)} -- {_q(name)} {target}")
    if elsewhere:
        lines.append(
            f"{_listed(elsewhere)} {'is' if len(elsewhere) == 1 else 'are'} not under "
            "refs/tags/, so no `git tag` makes it again: make a new tag object without the "
            "key, push it to that ref in its place, or push no such ref."
        )
    return [lines]


def plan(mode: str, leaks: Sequence[Leak], remote: str | None = None) -> list[list[str]]:
    """The numbered steps of a report on `mode`'s findings, in order. Each step is a list of
    lines; a line starting with `$ ` is a command, runnable as printed."""
    stage = stage_of(mode)
    if not leaks:
        return []
    steps: list[list[str]] = []
    if mode == "commit-msg":
        steps.append(
            _revoke_if_shared(
                leaks,
                "The commit was not made: the key is only in "
                "the message you typed, on this machine",
            )
        )
        steps.append(
            [
                "Write the message again without the key, and commit again (the rejected "
                "message stays in .git/COMMIT_EDITMSG until the next commit replaces it)."
            ]
        )
        return steps
    if stage == UNCOMMITTED:
        steps.append(_revoke_if_shared(leaks, "Nothing has left this machine through git yet"))
        steps.extend(file_steps(leaks, commands=True, then="stage the edit"))
        steps.append(["Commit again: the commit adds no key now."])
        return steps
    if stage == UNPUSHED:
        where = remote or "the remote"
        steps.append(
            _revoke_if_shared(
                leaks,
                f"The push was stopped before it sent anything: {where} has none of these commits "
                "unless it had them before (history a new branch shares with it, a branch "
                "deleted there since)",
            )
        )
        steps.extend(file_steps(leaks, commands=True, then="stage the edit"))
        steps.extend(rewrite_steps(leaks, "push again"))
        steps.extend(tag_steps(leaks, "push again"))
        return steps
    if stage == PUBLISHED:
        if mode == "pre-receive":
            why = "the push carried them off your machine; the server refused them, but they "
            why += "may be on another remote or fork"
            after = "push again"
        else:
            why = "these commits were pushed: assume the keys were copied"
            after = "force-push the branch (`git push --force-with-lease`)"
        steps.extend(_revoke_first(leaks, why))
        steps.extend(file_steps(leaks, commands=True, then="stage the edit", rotated=True))
        steps.extend(rewrite_steps(leaks, after))
        steps.extend(
            tag_steps(
                leaks,
                "push it with the branch"
                if mode == "pre-receive"
                else "force-push it too (`git push --force origin <tag>`)",
            )
        )
        if mode != "pre-receive":
            steps.append(
                [
                    "If the commits already reached a shared branch (merged) or others "
                    "fetched them, rewriting the branch is not enough: audit the whole "
                    "history and follow its purge plan:",
                    "$ kimi-secret-scan history",
                ]
            )
        return steps
    # files: the working tree, whatever has been committed.
    steps.append(
        [
            "Revoke? If the file was ever committed and pushed, or the key was shared anywhere, "
            "revoke it (`kimi-secret-scan history` shows whether history holds it):",
            *(
                f"  {_listed(keys)}, {KIND_NAMES[kind]}: {_where_revoked(kind)}"
                for kind, keys in _by_kind(leaks).items()
            ),
        ]
    )
    steps.extend(file_steps(leaks, commands=False, then="commit"))
    return steps


def plan_title(mode: str, count: int) -> str:
    keys = "the key is" if count == 1 else "the keys are"
    if mode == "commit-msg":
        return f"What to do: {keys} in the commit message; the commit was not made"
    if mode == "pre-receive":
        them = "it" if count == 1 else "them"
        return f"What to do: the push was rejected, but treat {them} as leaked"
    stage = stage_of(mode)
    if stage == UNCOMMITTED:
        return f"What to do: {keys} staged, not committed yet"
    if stage == UNPUSHED:
        return f"What to do: {keys} in commits not pushed yet"
    if stage == PUBLISHED:
        them = "it" if count == 1 else "them"
        return f"What to do: {keys} in pushed commits, so treat {them} as leaked"
    return (
        "What to do about the keys in these files"
        if count > 1
        else ("What to do about the key in this file")
    )


# -- the way out of a false positive -----------------------------------------------------------

_HASH_COMMENT = {".py", ".sh", ".bash", ".zsh", ".rb", ".pl", ".r", ".yaml", ".yml", ".toml"}
_HASH_COMMENT |= {".cfg", ".conf", ".tf", ".ps1", ".mk", ".dockerfile", ".nix", ".el"}
_SLASH_COMMENT = {".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".go", ".java", ".kt", ".c"}
_SLASH_COMMENT |= {".cc", ".cpp", ".h", ".hpp", ".cs", ".rs", ".swift", ".php", ".scala"}
_SLASH_COMMENT |= {".dart", ".groovy", ".gradle", ".jsonc"}
# Formats where a trailing comment would become part of the value.
_NEXT_LINE_COMMENT = {".ini", ".properties"}


def allow_comment(path: str) -> tuple[str, bool] | None:
    """The inline allow comment for a file: (text, on the line before) or None when the
    format has no comments (JSON, say)."""
    name = PurePosixPath(path).name.lower()
    suffix = PurePosixPath(name).suffix
    if file_kind(path) in (SECRETS, EXAMPLE) and (
        name.startswith(".env") or name.endswith(".env") or ".env." in name
    ):
        return "# kimi-secret-scan: allow-next-line", True
    if suffix in _NEXT_LINE_COMMENT:
        return "# kimi-secret-scan: allow-next-line", True
    if suffix in _HASH_COMMENT or name in ("dockerfile", "makefile", ".envrc"):
        return "# kimi-secret-scan: allow", False
    if suffix in _SLASH_COMMENT:
        return "// kimi-secret-scan: allow", False
    return None


def _comment_lines(
    leaks: Sequence[Leak], several_on_line: set[tuple[str, int]], then: str
) -> list[str]:
    """One line per place of a key whose file type has comments: the allow comment to add
    there (naming the key when its line holds several), followed by `then`."""
    lines = []
    for leak in leaks:
        for path, line in leak.places:
            # A file inside an archive: no comment is added there without building it again.
            comment = None if path in leak.containers else allow_comment(path)
            if comment is None:
                continue
            text, before = comment
            if (path, line) in several_on_line and not before:
                text += f" sha256:{leak.sha256[:12]}"
            where = (
                f"on a new line just before line {line}" if before else f"at the end of line {line}"
            )
            lines.append(f"  - in {path}, add `{text}` {where}{then}")
    return lines


def server_way_out(
    leaks: Sequence[Leak],
    several_on_line: set[tuple[str, int]],
    baseline: str | None,
    refuses_comments: bool,
) -> list[str]:
    """pre-receive: the way out is the server's to give, from its own configuration (a
    pusher's own baseline or config is never read there)."""
    if not leaks:
        return []
    lines = [
        "Not a real key (a test fixture, a made-up example)? This server decides what it "
        "lets through:"
    ]
    if refuses_comments:
        lines.append("  - it refuses allow comments that a push adds (`new-suppressions`);")
    else:
        lines += _comment_lines(
            leaks,
            several_on_line,
            ", stage it, redo the commits as the last step above says, and push again (the "
            "server reports the comment as one this push added), or",
        )
    hashes = " ".join(f"--hash {leak.sha256}" for leak in leaks)
    one = len(leaks) == 1
    if baseline:
        lines.append(
            f"  - ask its administrators to allow {'it' if one else 'them'} by "
            f"{'its hash' if one else 'their hashes'} in the server's baseline; on the "
            "server they run:"
        )
        lines.append(
            f"$ kimi-secret-scan baseline add --file {_q(baseline)} {hashes} "
            '--reason "not a real key"'
        )
    else:
        shown = ", ".join(leak.sha256 for leak in leaks)
        lines.append(
            f"  - ask its administrators to allow {'it' if one else 'them'} by SHA-256 "
            f"({shown}): the server names no baseline outside the repository, so they add "
            "`baseline = "
            '"<a file outside the repository>"` to its `.kimi-secret-scan.toml` and record '
            "the hash there with `kimi-secret-scan baseline add --file` (docs/ci.md, "
            '"On the server").'
        )
    return lines


def way_out(
    mode: str, leaks: Sequence[Leak], several_on_line: set[tuple[str, int]], pre_commit: bool
) -> list[str]:
    """If a finding is not a key: how to let it through, never by typing the key."""
    if mode in ("history", "pre-receive") or not leaks:
        return []
    lines = [
        "Not a real key (a test fixture, a made-up example)? Let it through without typing it:"
    ]
    if stage_of(mode) in (UNCOMMITTED, WORKTREE):
        lines += _comment_lines(leaks, several_on_line, ", or")
    lines.append(
        f"  - record {'its hash' if len(leaks) == 1 else 'their hashes'} in the baseline "
        "(then commit the baseline file it names):"
    )
    hashes = " ".join(f"--hash {leak.sha256}" for leak in leaks)
    lines.append(f'$ kimi-secret-scan baseline add {hashes} --reason "not a real key"')
    hook = PRE_COMMIT_HOOK_IDS.get(mode)
    if pre_commit and hook:
        lines.append("  - or, under pre-commit, skip this hook once:")
        lines.append(f"$ SKIP={hook} {_GIT_ACTION[mode]}")
    return lines
