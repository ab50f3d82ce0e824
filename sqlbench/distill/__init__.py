"""Distillation: ask a teacher for ``<think>`` reasoning + ``<sql>`` per task, judge each
answer with the validator, record everything in a run directory, and at the end write
(and optionally publish) the dataset.

``run_distill(settings, secrets, *, run_dir=None, stop=None, pause=None, argv=None,
on_sample=None) -> Path`` runs in the calling thread (its own asyncio loop) and returns
the run directory. Requests run ``batch_size`` at a time and stream into
``RUN/samples.jsonl`` as they complete; validation runs in a thread pool so it never
stalls generation.

Stopping and pausing:

* ``stop`` (a ``threading.Event``) or **SIGTERM/SIGINT** (when running in the main
  thread, e.g. a job the TUI started as a detached ``sqlbench distill`` process): no new
  request is dispatched, requests in flight get a bounded wait (at most 30 s), then a
  ``finished`` event with ``status: interrupted`` is written and the call returns. A
  second signal stops at once. A stop during the provider's start (model loading, a
  slow model list) abandons the start. Unrecorded samples are asked again on resume.

One job per run directory: the run's OS lock (``RunDir.lock``) is held for the call's
life; a second job on the same directory raises ``RunDirError`` (one line).
* ``pause`` (a ``threading.Event``) or a file **``RUN/pause``**: while either is present
  no new request is dispatched (in-flight ones complete); ``paused`` and ``resumed``
  events mark the pause.

Resume: running again with the same run directory skips every (task, sample index)
that already has a final record (``status`` ok or failed) in ``samples.jsonl``.

Events (``RUN/events.jsonl``): ``started`` {total (tasks), done (tasks complete before
this start), total_samples, done_samples, provider, model, dataset, num_samples},
``input_warning`` {duplicate_ids, duplicate_id_count, duplicates, renamed, torn_last_line, messages} (see
``sqlbench.distill.inputs``; only when something was noticed),
``sample`` {task_id, sample_index, valid, reason, latency_s, attempts}, ``failed``
{task_id, sample_index, error, attempts}, ``progress`` every second {done, total (in
samples), valid, invalid_by_reason, failed, samples_per_s, eta_s}, ``paused``,
``resumed``, ``finished`` {status: finished|interrupted, counts, dataset_rows,
published}; a crash writes ``error`` {status: failed, error}.
"""

from sqlbench.distill.pipeline import run_distill

__all__ = ["run_distill"]
