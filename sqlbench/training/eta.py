"""How long a training run has left, from its own events (pure: the trainer's callback,
the workbench and the tests share it).

A stage's pace is measured on that stage's own steps, from the stage's start (the
trainer's ``on_train_begin``, after the model is loaded):

* SFT steps say nothing about GRPO's: a GRPO step generates several completions per
  prompt and is many times slower, so an ETA taken from SFT during a two-stage run was
  several times too low, and a stage still to come is never given another stage's pace;
* one or two steps can be fast by luck (short completions), so a stage's pace is trusted
  only after ``MIN_TIMED`` of its steps.

Until then the stage's time is unknown, and while any stage still to run is unknown so
is the run's: the screen says ``estimating…`` instead of a number that will not hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

MIN_TIMED = 3  # steps of a stage timed before its pace is trusted


@dataclass
class StageClock:
    """The step times of one stage in the current session of a run."""

    name: str
    max_steps: int | None = None
    start: tuple[int, float] | None = None  # (step, t) the clock runs from: the stage's start
    last: tuple[int, float] | None = None

    def begin(self, step: int, t: float) -> None:
        self.start, self.last = (step, t), None

    def step(self, step: int, t: float, max_steps: int | None = None) -> None:
        if max_steps:
            self.max_steps = int(max_steps)
        if self.start is None:  # no stage start seen (an older run): the first step's own time is unknown
            self.start = (step, t)
        if self.last is None or step >= self.last[0]:
            self.last = (step, t)

    @property
    def step_now(self) -> int:
        return self.last[0] if self.last else (self.start[0] if self.start else 0)

    @property
    def timed(self) -> int:
        """Steps of this session whose time is known."""
        if self.start is None or self.last is None:
            return 0
        return self.last[0] - self.start[0]

    def seconds_left(self, min_timed: int = MIN_TIMED) -> float | None:
        """This stage's remaining time, or None while it is not timed yet."""
        if self.max_steps and self.step_now >= self.max_steps:
            return 0.0
        if not self.max_steps or self.timed < max(1, min_timed) or self.start is None or self.last is None:
            return None
        pace = (self.last[1] - self.start[1]) / self.timed
        return max(0.0, pace * (self.max_steps - self.last[0]))


@dataclass(frozen=True)
class Eta:
    """What a run has left: the current stage's time (None: not timed yet) and the
    stages still to come, whose time nobody knows before they run."""

    stage: str = ""
    step: int = 0
    max_steps: int | None = None
    stage_seconds: float | None = None
    later: tuple[str, ...] = ()

    @property
    def seconds(self) -> float | None:
        """The whole run's remaining time, or None while any of it is untimed."""
        return None if self.later else self.stage_seconds


@dataclass
class TrainClock:
    """Fed a train run's events in order (``plan``, ``stage``, ``step``; others are
    ignored), it tells the run's :class:`Eta`. A new ``plan`` starts a new session (a
    resumed run): times from before the interruption are forgotten."""

    min_timed: int = MIN_TIMED
    stages: list[str] = field(default_factory=list)
    clocks: dict[str, StageClock] = field(default_factory=dict)
    current: str = ""

    def feed(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "plan":
            self.stages = [str(s) for s in event.get("stages") or []]
            self.clocks.clear()
            self.current = ""
        elif kind == "stage":
            name = str(event.get("name") or event.get("stage") or "")
            clock = self.clocks[name] = StageClock(name, _int(event.get("max_steps")))
            t = event.get("t")
            if isinstance(t, (int, float)):
                clock.begin(_int(event.get("step")) or 0, float(t))
            self.current = name
        elif kind == "step":
            step, t = _int(event.get("step")), event.get("t")
            if step is None or not isinstance(t, (int, float)):
                return
            name = str(event.get("stage") or self.current)
            self.clocks.setdefault(name, StageClock(name)).step(step, float(t), _int(event.get("max_steps")))
            self.current = name

    def eta(self) -> Eta:
        clock = self.clocks.get(self.current)
        later = tuple(self.stages[self.stages.index(self.current) + 1:]) if self.current in self.stages \
            else tuple(self.stages)
        if clock is None:
            return Eta(later=later)
        return Eta(stage=clock.name, step=clock.step_now, max_steps=clock.max_steps,
                   stage_seconds=clock.seconds_left(self.min_timed), later=later)


def train_eta(events: Iterable[dict[str, Any]], min_timed: int = MIN_TIMED) -> Eta:
    """The :class:`Eta` of a train run after these events."""
    clock = TrainClock(min_timed=min_timed)
    for ev in events:
        clock.feed(ev)
    return clock.eta()


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None
