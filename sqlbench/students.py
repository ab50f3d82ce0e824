"""Old import path, kept for callers of the documented ``sqlbench.students.default_student``:
named students live in :mod:`sqlbench.inference.students`."""

from sqlbench.inference.students import *  # noqa: F401,F403
from sqlbench.inference.students import default_student, resolve_student  # noqa: F401
