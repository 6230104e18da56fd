"""The process entry point (the `kimi-secret-scan` script and `python -m kimi_secret_scan`).

`cli.main` is the click group; tests and scripts call it in their own process and catch its
SystemExit. `run` is for a process of our own: once the command has exited and its output
is flushed, the process ends without the interpreter's teardown (destroying every module
and object one by one), which cost ~9 ms of CPU of each ~90 ms hook run. The teardown is
skipped only when nothing needs it: no temporary file that is deleted at exit, no worker
process or second thread, no atexit handler; otherwise the process exits as usual.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import sys
from typing import NoReturn


def _teardown_needed() -> bool:
    if any(name in sys.modules for name in ("tempfile", "multiprocessing", "concurrent")):
        return True  # a NamedTemporaryFile, a pool's workers: cleaned up at exit
    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() > 1:
        return True
    count = getattr(atexit, "_ncallbacks", None)  # CPython's; elsewhere, exit as usual
    return count is None or count() > 0


def _is_hook(argv: list[str]) -> bool:
    return argv[1:2] == ["staged"] and not any(a in ("-h", "--help") for a in argv[2:])


def run() -> NoReturn:
    # Importing the command line allocates some 100,000 objects and no garbage worth a
    # collection: the collector's ~25 passes over them cost ~2.5 ms of each hook run.
    gc.disable()
    try:
        from kimi_secret_scan import git

        # git answers while Python imports (2 cores: ~7 ms of git off the critical path).
        git.start_version_probe()
        if _is_hook(sys.argv):
            # Its two reads, both started now: the repository's rev-parse (asked first, as
            # the configuration is looked up) and the diff. Asked after the imports, the
            # rev-parse was ~8 ms the hook waited for.
            # After the source's imports: git has answered `--version` by then (a prefetch
            # waits for it), and the diff's arguments are that module's.
            from kimi_secret_scan.sources.staged import prefetch_diff

            with contextlib.suppress(OSError):  # a directory removed under us: the command says so
                git.prefetch_repo(os.getcwd())
            prefetch_diff()
        from kimi_secret_scan.cli import main
    finally:
        # What the imports made (~27,000 tracked objects: modules, classes, functions) lives
        # as long as the process: frozen, a collection during the run no longer walks it
        # (a hook run's one gen-1 pass over it cost ~2-4 ms; frozen, its passes ~0.2 ms).
        gc.freeze()
        gc.enable()

    try:
        main()
    except SystemExit as exc:
        git.discard_prefetched()
        code = exc.code
        if (code is None or isinstance(code, int)) and not _teardown_needed():
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            except BaseException:
                raise exc from None  # a closed pipe: the interpreter says so, as before
            os._exit(int(code or 0))
        raise
    finally:
        git.discard_prefetched()  # never a git left running after us
    raise SystemExit(0)  # main() always exits; this keeps the promise if it ever returns
