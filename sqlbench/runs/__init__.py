"""The run store and job control: one run = one directory (``store``), and the jobs
that write them, started detached, stopped, paused and resumed (``jobs``).

``from sqlbench.runs import RunDir, …`` keeps working: the store's names are
re-exported here. Job control is imported from its own module (``sqlbench.runs.jobs``)
so that reading a run never loads it."""

from sqlbench.runs.store import (FAILED, FINISHED, INTERRUPTED, KINDS, LOCK_FILE, RUNNING, UNREADABLE, RunDir,
                                 TailCursor, atomic_write, claim_new_run_path, default_run_path, list_runs,
                                 write_error)

__all__ = ["FAILED", "FINISHED", "INTERRUPTED", "KINDS", "LOCK_FILE", "RUNNING", "UNREADABLE", "RunDir",
           "TailCursor", "atomic_write", "claim_new_run_path", "default_run_path", "list_runs", "write_error"]
