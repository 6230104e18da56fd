"""The organisation audit: many repositories, one list of keys to revoke.

`targets` names what to audit and which shard owns it, `mirror` keeps clone URLs mirrored
in a cache (the one place GitPython is used: cloning and fetching, never on the hook path),
`run` audits each target with the history pipeline in worker processes, `merge` groups the
per-target reports by distinct key across repositories.
"""
