"""A training run's ETA (sqlbench.training.eta): each stage timed on its own steps, never
on another stage's, and ``estimating…`` (None) until a stage's pace is known."""

from __future__ import annotations

from sqlbench.training.eta import MIN_TIMED, StageClock, TrainClock, train_eta

# The events of a real `sqlbench train --stage both --max-steps 12` of the tiny student on
# this machine (seconds from the plan): SFT steps take about 4 s, GRPO steps about 20 s.
REAL = [("stage", "sft", 0, 11.82)] + [("step", "sft", s, t) for s, t in enumerate(
    (17.44, 24.75, 28.99, 31.47, 35.1, 37.27, 42.72, 46.82, 49.32, 53.65, 67.32, 71.77), 1)] + \
    [("stage", "grpo", 0, 81.0)] + [("step", "grpo", s, t) for s, t in enumerate(
        (108.54, 128.84, 144.68, 149.14, 153.27, 159.27, 180.23, 200.84, 238.14, 263.99, 328.75, 356.41), 1)]
GRPO_END = 356.41


def events(upto: int | None = None) -> list[dict]:
    out = [{"t": 0.0, "type": "plan", "stages": ["sft", "grpo"]}]
    for kind, stage, step, t in REAL[:upto]:
        ev = {"t": t, "type": kind, "step": step, "max_steps": 12}
        ev.update({"name": stage} if kind == "stage" else {"stage": stage})
        out.append(ev)
    return out


def upto(stage: str, step: int) -> list[dict]:
    i = next(n for n, (k, s, st, _) in enumerate(REAL) if k == "step" and s == stage and st == step)
    return events(i + 1)


def test_during_sft_the_run_is_estimating_and_grpo_never_gets_the_sft_pace():
    eta = train_eta(upto("sft", 6))
    assert eta.stage == "sft" and eta.step == 6 and eta.later == ("grpo",)
    assert eta.seconds is None  # the run's end depends on GRPO, not timed yet
    sft_left = eta.stage_seconds
    assert sft_left is not None and 20 < sft_left < 40  # (37.27 - 11.82) / 6 * 6 ≈ 25 s
    # GRPO has started but fewer than MIN_TIMED of its steps are timed: no figure at all
    for n in range(0, MIN_TIMED):
        eta = train_eta(upto("grpo", n) if n else events(REAL.index(("stage", "grpo", 0, 81.0)) + 1))
        assert eta.stage == "grpo" and eta.later == ()
        assert eta.stage_seconds is None and eta.seconds is None, n


def test_once_grpo_is_timed_its_eta_is_its_own_pace_not_sfts():
    eta = train_eta(upto("grpo", 3))
    actual = GRPO_END - 144.68
    sft_pace = (71.77 - 11.82) / 12
    assert eta.seconds is not None
    assert eta.seconds > 3 * sft_pace * 9  # what an SFT-paced ETA would have said: several times too low
    assert abs(eta.seconds - actual) / actual < 0.15  # 191 s against the 212 s it took
    assert eta.seconds == eta.stage_seconds == (144.68 - 81.0) / 3 * 9


def test_a_finished_stage_has_nothing_left_and_single_stage_runs_need_no_plan():
    assert train_eta(events()).seconds == 0.0
    grpo_only = [{"t": 0.0, "type": "stage", "name": "grpo", "max_steps": 10, "step": 0}] + \
        [{"t": 10.0 * s, "type": "step", "stage": "grpo", "step": s, "max_steps": 10} for s in range(1, 5)]
    assert train_eta(grpo_only[:3]).seconds is None
    assert train_eta(grpo_only).seconds == 60.0


def test_a_resumed_session_forgets_the_pace_before_the_interruption():
    before = upto("grpo", 5)
    resumed = before + [{"t": 1000.0, "type": "plan", "stages": ["sft", "grpo"]},
                        {"t": 1010.0, "type": "stage", "name": "grpo", "max_steps": 12, "step": 5}]
    clock = TrainClock()
    for ev in resumed:
        clock.feed(ev)
    assert clock.eta().stage == "grpo" and clock.eta().step == 5 and clock.eta().seconds is None
    for s in (6, 7, 8):
        clock.feed({"t": 1010.0 + 30 * (s - 5), "type": "step", "stage": "grpo", "step": s, "max_steps": 12})
    assert clock.eta().seconds == 30 * 4  # 30 s a step since the resume, not the 14 s of before


def test_odd_events_are_ignored_and_a_run_without_stage_start_times_from_its_first_step():
    clock = StageClock("grpo")
    for s in (1, 2, 3):
        clock.step(s, 100.0 + 5 * s, max_steps=8)
    assert clock.timed == 2 and clock.seconds_left() is None  # the first step's own time is unknown
    clock.step(4, 120.0)
    assert clock.seconds_left() == 5 * 4
    junk = [{"type": "step", "stage": "grpo", "step": 2}, {"t": "x", "type": "step", "step": 3},
            {"t": 1.0, "type": "step", "step": True}, {"t": 1.0, "type": "stage"}, {"type": "eval"}]
    assert train_eta(junk).seconds is None
    assert train_eta([]).stage == "" and train_eta([]).seconds is None
