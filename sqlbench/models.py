"""Old import path, kept for callers of the documented ``sqlbench.models.resolve_model_path``:
model loading lives in :mod:`sqlbench.inference.models`."""

from sqlbench.inference.models import *  # noqa: F401,F403
from sqlbench.inference.models import load_model, resolve_model_path  # noqa: F401
