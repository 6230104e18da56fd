"""Which commits a CI job should scan, worked out from the variables the CI sets.

Pure: it reads a mapping of environment variables (and the GitHub event file they name)
and returns a `CiRange`; whether those commits exist in the clone is the caller's question.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kimi_secret_scan.errors import ScanError
from kimi_secret_scan.sources.commits import is_zero


@dataclass(frozen=True)
class CiRange:
    """Scan `head` minus `base`; with no base (a new branch), minus the default branch."""

    provider: str  # "GitHub Actions", "GitLab CI", "--base"
    event: str  # in words: "pull request #12", "push to main", "new branch feature"
    head: str
    base: str | None = None
    # The pushed branch: when there is no base, its own remote-tracking ref is not excluded.
    branch: str | None = None
    # Used when `head` is not in the clone (GitHub's PR head vs its checked-out merge commit).
    fallback_head: str | None = None
    # What to do when `head` is not in the clone and there is no fallback (said in the error).
    head_advice: str | None = None
    # A forced push whose old tip the clone may not have: then fall back to "new branch".
    forced: bool = False
    # Nothing to scan (a deleted branch).
    nothing: bool = False
    # The repository's default branch as the CI names it (GitHub's event, GitLab's
    # CI_DEFAULT_BRANCH): the only branch a new branch's commits are compared with, since a
    # push cannot create it alongside the new branch without its own job scanning it.
    default_branch: str | None = None
    # A pushed tag (refs/tags/NAME): what it publishes is its name, its tag object(s) and
    # the commits it adds; `head` is what the CI says the tag names (GitHub's `after`, the
    # tag object of an annotated tag; GitLab's CI_COMMIT_SHA, the commit).
    tag: str | None = None
    # GitHub's `after`: the object the push set the tag to (None: the clone's tag).
    tag_object: str | None = None
    # A GitLab merge request: its diff base is the fork point, which the merge request
    # chooses, so the configuration trusted is its target branch's tip (the first of these
    # the clone has; none named: the default branch's).
    target: tuple[str, ...] | None = None


_GITHUB_NO_RANGE = (
    "the GitHub event {event!r} has no commit range; run this job on push or pull_request, "
    "pass --base, or use `kimi-secret-scan history` for a full audit"
)


_PR_TARGET_ADVICE = (
    "under pull_request_target, actions/checkout checks out the base branch and GITHUB_SHA is "
    "the base branch's tip, so the pull request's commits are not in the clone; check out its "
    "head: `ref: ${{ github.event.pull_request.head.sha }}` (with `fetch-depth: 0`) under "
    "actions/checkout's `with:` (the scanner only reads that code; run none of it in this job)"
)


def _github_payload(env: Mapping[str, str]) -> dict[str, Any]:
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        raise ScanError("GITHUB_EVENT_PATH is not set, so the pushed commits are unknown")
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ScanError(f"cannot read the GitHub event file {path}: {exc}") from None
    if not isinstance(payload, dict):
        raise ScanError(f"the GitHub event file {path} is not a JSON object")
    return payload


def _get(payload: Mapping[str, Any], *keys: str) -> str | None:
    node: Any = payload
    for key in keys:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node if isinstance(node, str) and node else None


def _branch_name(ref: str | None) -> str | None:
    if ref and ref.startswith("refs/heads/"):
        return ref[len("refs/heads/") :]
    return None


def github(env: Mapping[str, str]) -> CiRange:
    event = env.get("GITHUB_EVENT_NAME", "")
    payload = _github_payload(env)
    sha = env.get("GITHUB_SHA") or None
    if event in ("pull_request", "pull_request_target"):
        base = _get(payload, "pull_request", "base", "sha")
        if not base and env.get("GITHUB_BASE_REF"):
            # In full: a pushed tag `origin/<base>` comes before the remote-tracking ref.
            base = f"refs/remotes/origin/{env['GITHUB_BASE_REF']}"
        head = _get(payload, "pull_request", "head", "sha") or sha
        if not base or not head:
            raise ScanError("the pull_request event file has no base and head commits")
        # An integer in GitHub's payload, at the top and under pull_request.
        pr = payload.get("pull_request")
        number = payload.get("number") or (pr.get("number") if isinstance(pr, dict) else None)
        shown = f"pull request #{number}" if isinstance(number, int) else "pull request"
        if event == "pull_request":
            return CiRange("GitHub Actions", shown, head, base, fallback_head=sha)
        # Under pull_request_target GITHUB_SHA is the base branch's tip and actions/checkout
        # checks out the base: falling back to it would scan base..base, nothing at all.
        return CiRange("GitHub Actions", shown, head, base, head_advice=_PR_TARGET_ADVICE)
    if event == "merge_group":
        base = _get(payload, "merge_group", "base_sha")
        head = _get(payload, "merge_group", "head_sha") or sha
        if not base or not head:
            raise ScanError("the merge_group event file has no base and head commits")
        return CiRange("GitHub Actions", "merge queue", head, base)
    if event == "push":
        before = _get(payload, "before") or ""
        after = _get(payload, "after") or sha or ""
        ref = _get(payload, "ref") or env.get("GITHUB_REF", "")
        branch = _branch_name(ref)
        shown = branch or ref or "a ref"
        if payload.get("deleted") is True or not after or is_zero(after):
            return CiRange("GitHub Actions", f"deletion of {shown}", "", nothing=True)
        default = _get(payload, "repository", "default_branch")
        if ref.startswith("refs/tags/"):
            # A new tag or a moved one alike: its old target says nothing of what it adds.
            tag = ref[len("refs/tags/") :]
            return CiRange(
                "GitHub Actions",
                f"tag {tag}",
                after,
                tag=ref,
                tag_object=after,
                default_branch=default,
            )
        if not before or is_zero(before):
            return CiRange(
                "GitHub Actions",
                f"new branch {shown}",
                after,
                branch=branch,
                default_branch=default,
            )
        forced = payload.get("forced") is True
        what = "force push" if forced else "push"
        return CiRange(
            "GitHub Actions",
            f"{what} to {shown}",
            after,
            before,
            branch=branch,
            forced=forced,
            default_branch=default,
        )
    raise ScanError(_GITHUB_NO_RANGE.format(event=event or "(unset)"))


def gitlab(env: Mapping[str, str]) -> CiRange:
    head = env.get("CI_COMMIT_SHA", "")
    if not head:
        raise ScanError("CI_COMMIT_SHA is not set, so the commit to scan is unknown")
    iid = env.get("CI_MERGE_REQUEST_IID")
    diff_base = env.get("CI_MERGE_REQUEST_DIFF_BASE_SHA", "")
    target = env.get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "")
    default = env.get("CI_DEFAULT_BRANCH") or None
    # In full: a pushed tag `origin/<target>` comes before the remote-tracking ref.
    target_ref = f"refs/remotes/origin/{target}" if target else ""
    target_sha = env.get("CI_MERGE_REQUEST_TARGET_BRANCH_SHA", "")  # merged results only
    targets = tuple(t for t in (target_ref, target_sha) if t and not is_zero(t))
    if diff_base and not is_zero(diff_base):
        shown = f"merge request !{iid}"
        return CiRange("GitLab CI", shown, head, diff_base, default_branch=default, target=targets)
    if target:
        shown = f"merge request !{iid}"
        return CiRange("GitLab CI", shown, head, target_ref, default_branch=default, target=targets)
    tag = env.get("CI_COMMIT_TAG")
    if tag:
        return CiRange(
            "GitLab CI", f"tag {tag}", head, tag=f"refs/tags/{tag}", default_branch=default
        )
    branch = env.get("CI_COMMIT_BRANCH") or env.get("CI_COMMIT_REF_NAME") or None
    before = env.get("CI_COMMIT_BEFORE_SHA", "")
    shown = branch or "the pipeline's ref"
    if not before or is_zero(before):
        # A new branch, or a pipeline not started by a push.
        return CiRange(
            "GitLab CI", f"new branch {shown}", head, branch=branch, default_branch=default
        )
    return CiRange(
        "GitLab CI", f"push to {shown}", head, before, branch=branch, default_branch=default
    )


def detect_range(env: Mapping[str, str]) -> CiRange:
    if env.get("GITHUB_ACTIONS") == "true":
        return github(env)
    if env.get("GITLAB_CI") == "true":
        return gitlab(env)
    raise ScanError(
        "no supported CI detected (GitHub Actions, GitLab CI); pass --base BASE "
        "(and --head HEAD) to say which commits to scan"
    )
