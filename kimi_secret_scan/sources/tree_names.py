"""Every name the history's trees give their entries, not only the one the listing gives.

`git rev-list --objects` names each object once, at the first path it meets it: an object
met again under another name (the empty blob of every empty file, a directory whose tree
equals another's, a file copied to a second name) is not listed again. A history audit
reads every tree anyway, and a tree holds the name and mode of each of its entries, so the
names are taken from there (TreeNames.add, one regex pass a tree):

- each distinct entry name, with the first path it was met at: the path names the audit
  scans (metadata.history_names) include them, so a key in the name of an empty file or of
  a duplicated directory is found (a name is scanned once, at one path);
- the blobs some entry names as a configuration file (detect/layered.py `_is_config`:
  base64 is searched there, not in other files): a blob the listing names otherwise is
  scanned once more, under that path (resolve), so the same bytes at `a.md` and
  `secret.yaml` are judged as `secret.yaml` is. The occurrences are then reported at every
  path that holds them, each judged by its own name, as before.

A compressed stream (gzip, bzip2, xz) names its content after its own name (`app.yaml.gz`
holds `app.yaml`: unpack/archives.py inner_name), so its content is judged by that name
too, and the same stream under two names (`notes.md.gz`, `secret.yaml.gz`) may be judged
two ways. Such blobs are few: one whose name holds a dot is scanned once more under a name
read as configuration at every level (compressed_blob), whatever its other names.

Measured (CPU time, one reader, a loaded 2-core machine): on psf/requests (19,712 trees,
282,000 entries, 2,875 distinct names, 1,526 blobs under configuration names) the parsing
costs about 0.1 s and the 6 blobs scanned again 0.05 s; on MoonshotAI/kimi-cli (31,800
trees, 443,000 entries) 0.15 s and 0.02 s (1 blob); the whole phase 1 costs 1.9 s and 3.0 s.
With --jobs the parsing is shared by the workers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kimi_secret_scan.content import Content
from kimi_secret_scan.detect.layered import _is_config
from kimi_secret_scan.unpack import HEAD, container_kind

# Each entry of a tree: its mode, name and raw id (20 bytes, or 32 for SHA-256).
_ENTRIES = {
    width: re.compile(rb"([0-7]+) ([^\0]*)\0(.{%d})" % width, re.S).findall for width in (20, 32)
}
_TREE_MODE = ord("4")  # 40000: a directory; every other mode names a blob or a gitlink
_COMPRESSED = ("gzip", "bzip2", "xz")
# A name without a dot is read as configuration, and so is the content of a compressed
# stream whose name has no compression suffix, at every level: the widest judgement.
WIDEST = "(read as a configuration file)"


def _configured(name: bytes) -> bool:
    return _is_config(name.decode("utf-8", "surrogateescape"))


@dataclass
class TreeNames:
    """What the trees a reader read name (see the module's docstring); a path is kept as
    its tree's id and the entry's name, and joined from the listing's path of that tree
    (resolve: cat-file's %(rest) drops a path's leading blanks)."""

    # Entry name -> the id (hex) of the first tree it was met in.
    names: dict[bytes, bytes] = field(default_factory=dict)
    # Raw id of a blob -> (tree id, name) of the first entry naming it as configuration.
    configured: dict[bytes, tuple[bytes, bytes]] = field(default_factory=dict)
    # Entry name -> whether it names a configuration file (each name is judged once).
    judged: dict[bytes, bool] = field(default_factory=dict)
    # Blob id -> the path of a compressed stream that may be judged more narrowly there
    # than under another name (see the module's docstring).
    compressed: dict[str, str] = field(default_factory=dict)

    def add(self, fields: list[bytes], data: bytes) -> None:
        """One tree: `fields` its header (id, type, size, path), `data` its entries."""
        tree = fields[0]
        find = _ENTRIES.get(len(tree) // 2)
        if find is None:
            return
        names, judged, configured = self.names, self.judged, self.configured
        for mode, name, raw in find(data):
            config = judged.get(name)
            if config is None:
                names[name] = tree
                config = judged[name] = _configured(name)
            if config and mode[0] != _TREE_MODE and raw not in configured:
                configured[raw] = (tree, name)

    def merge(self, other: TreeNames) -> None:
        """Another reader's, read after this one's (the first path met stays)."""
        for name, tree in other.names.items():
            if name not in self.names:
                self.names[name] = tree
                self.judged[name] = other.judged[name]
        for raw, entry in other.configured.items():
            self.configured.setdefault(raw, entry)
        for oid, path in other.compressed.items():
            self.compressed.setdefault(oid, path)

    def compressed_blob(self, oid: str, content: Content) -> None:
        """A container blob the reader unpacked, under its path `content.path`."""
        name = content.path.rsplit("/", 1)[-1]
        if "." not in name:
            return  # judged as widely as it can be already
        head = content.data[:HEAD]
        if not head and content.chunks is not None:
            for piece in content.chunks():  # a spooled large blob: its first chunk
                head = piece[:HEAD]
                break
        if container_kind(head) in _COMPRESSED:
            self.compressed.setdefault(oid, content.path)

    def resolve(self, listing: bytes) -> tuple[set[bytes], dict[str, tuple[str, str]]]:
        """From the rev-list `listing` the objects were read from (one pass over it): a
        path for each distinct name, and the blobs to scan again, id -> (the path to scan
        it under, a real path of it): those listed under a path not read as configuration
        that a tree names as one, and the compressed streams. Blobs outside the listing (a
        selection's `--not`) are not read."""
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
        rescans = {oid: (f"{path}/{WIDEST}", path) for oid, path in self.compressed.items()}
        for oid, path in listed.items():
            # The path as the reader scanned it (cat-file's %(rest)): no trailing CR, no
            # leading blanks.
            name = path.removesuffix(b"\r").lstrip(b" \t").rsplit(b"/", 1)[-1]
            if not _configured(name):
                alias = join(*blobs[oid]).decode("utf-8", "surrogateescape")
                rescans.setdefault(oid.decode("ascii"), (alias, alias))
        return paths, rescans
