"""What a sample is, at a glance: the one rule every count and badge uses.

A sample record (a line of ``samples.jsonl``) is exactly one of

* ``failed``: the teacher never answered (every request failed);
* ``unverified``: its SQL ran, but the data cannot tell right from wrong. Checked before
  ``valid`` so that it is never counted as accepted, whatever a flag says;
* ``valid``: judged and accepted;
* ``unjudged``: answered but never judged (a ``--no-validate`` run);
* otherwise invalid, named by the verdict's reason (``mismatch``, ``syntax``, …).

The distillation's live counters, its final counts, the workbench's tables and the runs
list all call :func:`sample_outcome`; none keeps a copy of the rule.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

from sqlbench.records import UNVERIFIED

VALID, FAILED_SAMPLE, UNJUDGED = "valid", "failed", "unjudged"
NOT_INVALID = (VALID, FAILED_SAMPLE, UNJUDGED, UNVERIFIED)


def sample_outcome(rec: dict[str, Any]) -> str:
    """``valid``, ``unverified``, ``failed``, ``unjudged`` or the invalid verdict's reason."""
    verdict = rec.get("verdict") if isinstance(rec.get("verdict"), dict) else {}
    if rec.get("status") == "failed" or (rec.get("error") and not verdict):
        return FAILED_SAMPLE
    if UNVERIFIED in (rec.get("reason"), verdict.get("reason")):
        return UNVERIFIED
    valid = rec.get("valid")
    if valid is None:
        valid = verdict.get("valid")
    if valid is True:
        return VALID
    if valid is None:
        return UNJUDGED
    return str(rec.get("reason") or verdict.get("reason") or "invalid")


def is_rejected(rec: dict[str, Any]) -> bool:
    """Invalid, unverified or failed: what a reviewer of rejections looks at (an unjudged
    sample was never judged, so it was not rejected either)."""
    return sample_outcome(rec) not in (VALID, UNJUDGED)


@dataclass
class Tally:
    """Samples counted by outcome (invalid ones by reason)."""

    done: int = 0
    valid: int = 0
    unverified: int = 0
    failed: int = 0
    unjudged: int = 0
    invalid_by_reason: Counter = field(default_factory=Counter)

    def add(self, rec: dict[str, Any]) -> str:
        outcome = sample_outcome(rec)
        self.done += 1
        if outcome == VALID:
            self.valid += 1
        elif outcome == UNVERIFIED:
            self.unverified += 1
        elif outcome == FAILED_SAMPLE:
            self.failed += 1
        elif outcome == UNJUDGED:
            self.unjudged += 1
        else:
            self.invalid_by_reason[outcome] += 1
        return outcome

    @property
    def invalid(self) -> int:
        return sum(self.invalid_by_reason.values())

    def as_dict(self) -> dict[str, Any]:
        return {"done": self.done, "valid": self.valid, "unverified": self.unverified, "invalid": self.invalid,
                "invalid_by_reason": dict(sorted(self.invalid_by_reason.items())), "failed": self.failed,
                "unjudged": self.unjudged}


def tally(records: Iterable[dict[str, Any]]) -> Tally:
    t = Tally()
    for rec in records:
        t.add(rec)
    return t
