"""What to do about a key, by the kind of key (which console revokes it) and by the mode.

Advice is routed by kind because the consoles are not interchangeable: a Kimi Code key is
managed only in the Kimi Code Console, and China (.cn) and international (.ai) platform
keys live in separate accounts.
"""

from __future__ import annotations

from kimi_secret_scan.finding import KeyKind

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
    return "revoke it on the Moonshot platform (China or international, see below)"


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


def fix_step(mode: str) -> str:
    """The last step, which depends on where the key was found."""
    if mode == "staged":
        return (
            "Fix the file: replace the key with a read of the environment variable, then "
            "`git add` the file again (or `git restore --staged <path>` to unstage it). "
            "The key never reached a commit; once it is out, commit as usual."
        )
    if mode == "commit-msg":
        return "Edit the commit message to remove the key; the commit was not made."
    if mode == "files":
        return (
            "Fix the file: replace the key with a read of the environment variable. If the "
            "file was ever committed, the key is in history too: run "
            "`kimi-secret-scan history` for the clean-up plan."
        )
    if mode == "pre-push":
        return (
            "The key is in commits you have not pushed yet: take it out of them (`git commit "
            "--amend` for the last commit, `git rebase -i @{upstream}` for earlier ones), then "
            "push again. Nothing reached the remote."
        )
    if mode == "pre-receive":
        return (
            "The push was rejected and nothing was stored on the server. Take the key out of "
            "the commits (`git commit --amend`, or `git rebase -i` for earlier ones) and push "
            "again."
        )
    if mode in ("range", "ci"):
        return (
            "Take the key out of the branch's commits before merging (`git rebase -i` onto the "
            "base, or squash), and force-push the branch. The commits were pushed, so revoke "
            "first; if they reached a shared branch, follow `kimi-secret-scan history`'s "
            "clean-up plan."
        )
    return (
        "Remove the key from the files that still hold it, then follow the history "
        "clean-up plan (`kimi-secret-scan history`)."
    )
