"""User-facing errors: the CLI prints ``str(err)`` on one line and exits 2.

Exit codes of every command (the README's table): 0 done; 1 the job failed (an
unexpected error, traceback shown); 2 a mistake the user can fix (one line); 130
interrupted by SIGINT/SIGTERM (the run is resumable).
"""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USER = 2
EXIT_INTERRUPTED = 130


class SqlbenchError(Exception):
    """An error the user can fix; the message says how."""

    exit_code = EXIT_USER


class ConfigError(SqlbenchError):
    """config.yaml / .env / flags are wrong."""


class DatasetError(SqlbenchError):
    """A dataset cannot be read or lacks the needed columns."""


class ProviderError(SqlbenchError):
    """A teacher/model provider cannot be used (missing extra, no GPU, bad model)."""


class RunDirError(SqlbenchError):
    """A run directory is missing, of another kind, or unreadable."""
