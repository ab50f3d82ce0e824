"""User-facing errors: the CLI prints ``str(err)`` on one line and exits 2."""


class SqlbenchError(Exception):
    """An error the user can fix; the message says how."""

    exit_code = 2


class ConfigError(SqlbenchError):
    """config.yaml / .env / flags are wrong."""


class DatasetError(SqlbenchError):
    """A dataset cannot be read or lacks the needed columns."""


class ProviderError(SqlbenchError):
    """A teacher/model provider cannot be used (missing extra, no GPU, bad model)."""


class RunDirError(SqlbenchError):
    """A run directory is missing, of another kind, or unreadable."""
