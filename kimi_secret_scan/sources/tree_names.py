"""Every name the history's trees give their entries, not only the one the listing gives.

`git rev-list --objects` names each object once, at the first path it meets it: an object
met again under another name (the empty blob of every empty file, a directory whose tree
equals another's, a file copied to a second name) is not listed again. A history audit
reads every tree anyway, and a tree holds the name and mode of each of its entries, so the
names are taken from there (TreeNames.add, one regex pass a tree):

- each distinct entry name, with the first path it was met at: the path names the audit
  scans (metadata.history_names) include them, so a key in the name of an empty file or of
  a duplicated directory is found (a name is scanned once, at one path), and so is one in
  a name the listing cuts at its first line break or never lists (a submodule's);
- the blobs some entry names as a configuration file (detect/layered.py `_is_config`:
  base64 is searched there, not in other files): a blob the listing names otherwise is
  scanned once more, under that path (resolve), so the same bytes at `a.md` and
  `secret.yaml` are judged as `secret.yaml` is. The occurrences are then reported at every
  path that holds them, each judged by its own name, as before.

A container's members are judged by the container's name too: a compressed stream's
content is named after it (`app.yaml.gz` holds `app.yaml`: unpack/archives.py inner_name),
and a member at the top of an archive is judged by `bundle.zip!token` (every one of them is
configuration in `.env.zip`). So history unpacks every container as if it were named
`.env…` (widest): a member is read as configuration whatever names its container has; the
occurrences are then judged, and reported, each by its own real path.

Measured (CPU time, one reader, a loaded 2-core machine): on psf/requests (19,712 trees,
282,000 entries, 2,875 distinct names, 1,526 blobs under configuration names) the parsing
costs about 0.1 s, and the 3 blobs scanned again with the pass over the listing 0.013 s;
on MoonshotAI/kimi-cli (31,800 trees, 443,000 entries) 0.15 s and 0.018 s (1 blob); the
whole phase 1 costs about 1.9 s and 3.0 s. With --jobs the parsing is shared by the
workers. Unpacking requests' 18 containers (7 MB) under the widest name costs the same as
under their own, within 0.01 s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kimi_secret_scan.detect.layered import _is_config

# Each entry of a tree: its mode, name and raw id (20 bytes, or 32 for SHA-256).
_ENTRIES = {
    width: re.compile(rb"([0-7]+) ([^\0]*)\0(.{%d})" % width, re.S).findall for width in (20, 32)
}
# The same, with mode and name as one key ("100644 setup.cfg"): `dict()` of what it finds
# maps each entry to its raw id in one C call, two objects an entry instead of three.
_KEYED = {
    width: re.compile(rb"([0-7]+ [^\0]*)\0(.{%d})" % width, re.S).findall for width in (20, 32)
}
_TREE_MODE = ord("4")  # 40000: a directory; every other mode names a blob or a gitlink
# A container so named is read as configuration, and so is every member at its top (the
# name starts with `.env`) and a compressed stream's content ("(gzip content)": no suffix).
_WIDEST = ".env (read as a configuration file)"


def widest(path: str) -> str:
    """The name to unpack a container blob under, whatever its names: see above."""
    return f"{path}/{_WIDEST}" if path else _WIDEST


def _configured(name: bytes) -> bool:
    return _is_config(name.decode("utf-8", "surrogateescape"))


def _name(key: bytes) -> bytes:
    return key[key.index(b" ") + 1 :]


@dataclass
class TreeNames:
    """What the trees a reader read name (see the module's docstring); a path is kept as
    its tree's id and the entry's name, and joined from the listing's path of that tree
    (resolve: cat-file's %(rest) drops a path's leading blanks)."""

    # Entry name -> the id (hex) of the first tree it was met in.
    names: dict[bytes, bytes] = field(default_factory=dict)
    # Raw id of a blob -> (tree id, name) of the first entry naming it as configuration.
    configured: dict[bytes, tuple[bytes, bytes]] = field(default_factory=dict)
    # Entry ("mode name") -> whether it names a file read as configuration (each entry is
    # judged once).
    judged: dict[bytes, bool] = field(default_factory=dict)
    # The entries judged to name a file read as configuration.
    config_entries: set[bytes] = field(default_factory=set)

    def add(self, fields: list[bytes], data: bytes) -> None:
        """One tree: `fields` its header (id, type, size, path), `data` its entries."""
        tree = fields[0]
        find = _KEYED.get(len(tree) // 2)
        if find is None:
            return
        found = find(data)
        entries = dict(found)
        # Set operations, not a Python step per entry: most entries of a tree were met
        # before (requests: 282,000 entries, 2,875 distinct names; kimi-cli 443,000), and
        # few name configuration files. (kimi-cli's 31,800 trees: 0.33 s of CPU with a
        # Python step per entry, 0.24 s with sets of names, cProfile.)
        judged, config_entries = self.judged, self.config_entries
        new = set(entries).difference(judged)  # a step per entry of this tree only
        if new:
            names = self.names
            for key in new:
                name = _name(key)
                names.setdefault(name, tree)
                judged[key] = config = key[0] != _TREE_MODE and _configured(name)
                if config:
                    config_entries.add(key)
        if not config_entries:
            return
        configured = self.configured
        if len(entries) != len(found):
            # An entry twice in one tree (a hand-made tree; fsck refuses it, a server
            # without receive.fsckObjects stores it): each of its blobs counts.
            for key, raw in found:
                if key in config_entries and raw not in configured:
                    configured[raw] = (tree, _name(key))
            return
        for key in config_entries.intersection(entries):
            raw = entries[key]
            if raw not in configured:
                configured[raw] = (tree, _name(key))

    def merge(self, other: TreeNames) -> None:
        """Another reader's, read after this one's (the first path met stays)."""
        for name, tree in other.names.items():
            self.names.setdefault(name, tree)
        for key, config in other.judged.items():
            self.judged.setdefault(key, config)
        self.config_entries |= other.config_entries
        for raw, entry in other.configured.items():
            self.configured.setdefault(raw, entry)

    def resolve(self, listing: bytes) -> tuple[set[bytes], dict[str, str]]:
        """From the rev-list `listing` the objects were read from (one pass over it): a
        path for each distinct name, and the blobs to scan again, id -> the configuration
        path to scan it under: those listed under a path not read as configuration that a
        tree names as one. Blobs outside the listing (a selection's `--not`) are not read."""
        blobs = {raw.hex().encode(): entry for raw, entry in self.configured.items()}
        trees = set(self.names.values())
        trees.update(tree for tree, _ in self.configured.values())
        tree_paths: dict[bytes, bytes] = {}
        listed: dict[bytes, bytes] = {}  # blob id -> its path in the listing
        for line in listing.split(b"\n"):
            oid, _, path = line.partition(b" ")
            if oid in trees:
                tree_paths[oid] = path
            elif oid in blobs:
                listed[oid] = path

        def join(tree: bytes, name: bytes) -> bytes:
            base = tree_paths.get(tree, b"")
            return base + b"/" + name if base else name

        paths = {join(tree, name) for name, tree in self.names.items()}
        rescans: dict[str, str] = {}
        for oid, path in listed.items():
            # The path as the reader scanned it (cat-file's %(rest)): no trailing CR, no
            # leading blanks.
            name = path.removesuffix(b"\r").lstrip(b" \t").rsplit(b"/", 1)[-1]
            if not _configured(name):
                alias = join(*blobs[oid]).decode("utf-8", "surrogateescape")
                rescans[oid.decode("ascii")] = alias
        return paths, rescans
