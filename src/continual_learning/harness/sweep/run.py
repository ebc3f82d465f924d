"""Run a sweep: resolve its config and inputs, skip the jobs an earlier run finished, run the
rest on an executor, and merge every dataset's jobs into one report.

The output folder holds ``jobs/KEY.json`` (one per job, written atomically the moment it
finishes), ``sweep.json`` (what ran, where, for how long, and each merged report) and one
``REPORT.json`` / ``.html`` / ``.png`` per dataset. A job's key hashes the job and everything
its result depends on (the resolved config, the protocol), so running the sweep again keeps
what finished and reruns only what is missing, failed, or changed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from continual_learning.config.loader import build_app_config, merge, read_layers
from continual_learning.config.schema import AppConfig
from continual_learning.core.storage import atomic_write_json, require_folder
from continual_learning.errors import DatasetError
from continual_learning.harness.inputs import (
    ComparisonInputs,
    fictional_fact_inputs,
    file_inputs,
    squad_inputs,
)
from continual_learning.harness.runner import comparison_report
from continual_learning.harness.stream import stream_report
from continual_learning.harness.sweep.executors import Executor, LocalPool
from continual_learning.harness.sweep.jobs import JobPayload, finished
from continual_learning.harness.sweep.spec import DatasetSpec, SweepJob, SweepSpec
from continual_learning.types import (
    ComparisonReport,
    EngineResult,
    ProgressCallback,
    StreamReport,
    StreamRun,
    emit,
)

log = logging.getLogger(__name__)
NOT_RUN = "not run yet (the sweep was stopped, or is still running)"


@dataclass(frozen=True, kw_only=True)
class SweepResult:
    """Each dataset's merged report, and the record of every job."""

    reports: dict[str, StreamReport | ComparisonReport]
    jobs: tuple[dict[str, Any], ...]
    kept: int
    """Jobs finished by an earlier run of the same sweep and not run again."""
    folder: Path
    ran: bool = True
    """False for a report of the finished jobs only (``run_jobs=False``)."""

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [j for j in self.jobs if _error_of(j)]


def sweep_config(spec: SweepSpec, *, profile_path: Path | None = None) -> AppConfig:
    """Your configuration (defaults, profile, user file, ``CL__``), the spec's settings on top."""
    return build_app_config(merge(read_layers(profile_path=profile_path).merged(), spec.settings))


def run_sweep(
    spec: SweepSpec,
    folder: Path,
    *,
    config: AppConfig,
    executor: Executor | None = None,
    on_event: ProgressCallback | None = None,
    run_jobs: bool = True,
) -> SweepResult:
    """Run ``spec`` into ``folder`` (see the module docstring); ``executor`` defaults to one
    local worker. ``run_jobs=False`` runs nothing: the reports merge the jobs finished so far
    (while a long sweep runs, or after it was stopped), the others rows marked not run yet."""
    executor = executor or LocalPool(1)
    require_folder(folder, what="sweep folder")
    config = _with_threads(config, executor.threads)
    inputs = {d.label: dataset_inputs(d, spec, config) for d in spec.datasets}
    context = _context_hash(spec, config)
    payloads = [
        _payload(job, spec, config, inputs[job.dataset.label], context) for job in spec.jobs()
    ]
    records = {p.key: r for p in payloads if (r := _finished_before(folder, p.key)) is not None}
    todo = [p for p in payloads if p.key not in records]
    total = len(payloads)
    emit(on_event, "sweep", len(records), total, f"{len(records)} kept, {executor.name}")

    def on_done(record: dict[str, Any]) -> None:
        atomic_write_json(_job_file(folder, record["key"]), record)
        records[record["key"]] = record
        label = f"{record['job']['label']} seed {record['job']['seed']}"
        emit(on_event, "sweep", len(records), total, label)

    if run_jobs:
        executor.run(todo, on_done, on_event)
    else:
        records |= {p.key: finished(p, {"error": NOT_RUN}, 0.0) for p in todo}
    ordered = tuple(records[p.key] for p in payloads)
    reports = {
        d.label: merge_reports(
            spec, [r for r in ordered if _dataset_of(r) == d], inputs[d.label], config
        )
        for d in spec.datasets
    }
    result = SweepResult(
        reports=reports, jobs=ordered, kept=total - len(todo), folder=folder, ran=run_jobs
    )
    _write_outputs(result, spec, executor)
    return result


def dataset_inputs(dataset: DatasetSpec, spec: SweepSpec, config: AppConfig) -> ComparisonInputs:
    """The documents, questions and held-out material of one dataset of the spec."""
    from continual_learning.core.squad import resolve_squad_path

    options = dict(dataset.options)
    if dataset.name == "squad":
        return squad_inputs(
            resolve_squad_path(config.squad),
            n=int(options.get("n", 20)),
            seed=int(options.get("seed", 0)),
            heldout=spec.heldout,
            reading=spec.reading,
            last_articles=int(options.get("last_articles", 5)),
            episode_size=int(options.get("episode_size", 0)),
        )
    squad = _squad_or_none(config)
    if dataset.name == "facts":
        return fictional_fact_inputs(
            squad_path=squad,
            heldout=spec.heldout,
            reading=spec.reading,
            fact_set=str(options.get("fact_set", "shipped")),
        )
    documents = options["documents"]
    documents = documents if isinstance(documents, list) else [documents]
    return file_inputs(
        [spec.folder / str(d) for d in documents],
        spec.folder / str(options["questions"]),
        max_file_bytes=config.documents.max_file_bytes,
        squad_path=squad,
        heldout=spec.heldout,
        reading=spec.reading,
    )


def _squad_or_none(config: AppConfig) -> Path | None:
    from continual_learning.core.squad import resolve_squad_path

    try:
        return resolve_squad_path(config.squad)
    except DatasetError:
        log.warning("no SQuAD file: held-out material is the shipped paragraphs (perplexity)")
        return None


def _with_threads(config: AppConfig, threads: int) -> AppConfig:
    model = dataclasses.replace(config.model, threads=threads)
    return dataclasses.replace(config, model=model)


def _context_hash(spec: SweepSpec, config: AppConfig) -> str:
    """Everything a job's result depends on besides the job: the protocol and the config
    (threads aside: they change the speed, not the answers)."""
    settings = dataclasses.asdict(_with_threads(config, 0))
    text = json.dumps([spec.fingerprint(), settings], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def _payload(
    job: SweepJob, spec: SweepSpec, config: AppConfig, inputs: ComparisonInputs, context: str
) -> JobPayload:
    return JobPayload(
        job=job,
        key=f"{job.key}-{context}",
        config=job.run.config(config),
        inputs=inputs,
        mode=spec.mode,
        episodes=spec.episodes,
        by=spec.by,
    )


def _job_file(folder: Path, key: str) -> Path:
    return folder / "jobs" / f"{key}.json"


def _finished_before(folder: Path, key: str) -> dict[str, Any] | None:
    """An earlier run's record of this job, if it finished without failing; a failed or
    unreadable record is run again."""
    path = _job_file(folder, key)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        log.warning("unreadable job record %s: running the job again", path)
        return None
    if not isinstance(record, dict) or record.get("key") != key or _error_of(record):
        return None
    return record


def _error_of(record: dict[str, Any]) -> str | None:
    return (record.get("result") or {}).get("error")


def _dataset_of(record: dict[str, Any]) -> DatasetSpec:
    job = record["job"]
    return DatasetSpec(name=job["dataset"], options=job["dataset_options"])


def merge_reports(
    spec: SweepSpec,
    records: Sequence[dict[str, Any]],
    inputs: ComparisonInputs,
    config: AppConfig,
) -> StreamReport | ComparisonReport:
    """One dataset's job records as the report a single run would have made."""
    if spec.mode == "stream":
        runs = [_stream_run(r) for r in records]
        return stream_report(runs, inputs, config, episodes=spec.episodes, by=spec.by)
    many_seeds = len(spec.seeds) > 1
    rows = [_engine_result(r, label_seed=many_seeds) for r in records]
    return comparison_report(rows, inputs, config)


def _stream_run(record: dict[str, Any]) -> StreamRun:
    result, job = record["result"], record["job"]
    if "episodes" in result:
        return StreamRun.from_dict(result)
    from continual_learning.engines.registry import get_spec

    engine = get_spec(job["engine"]).display_name
    return StreamRun(
        engine=engine, label=job["label"], seed=job["seed"], episodes=(), error=result["error"]
    )


def _engine_result(record: dict[str, Any], *, label_seed: bool) -> EngineResult:
    result, job = record["result"], record["job"]
    from continual_learning.engines.registry import get_spec
    from continual_learning.harness.runner import BASELINES

    label = job["label"]
    if label_seed and label not in BASELINES:
        label = f"{label} [seed {job['seed']}]"
    if "engine" in result:
        return dataclasses.replace(EngineResult.from_dict(result), label=label)
    return EngineResult(
        engine=get_spec(job["engine"]).display_name, label=label, error=result["error"]
    )


def _write_outputs(result: SweepResult, spec: SweepSpec, executor: Executor) -> None:
    from continual_learning.harness.html_report import write_html
    from continual_learning.harness.outputs import write_json, write_plot
    from continual_learning.harness.stream_outputs import (
        write_stream_html,
        write_stream_json,
        write_stream_plot,
    )

    for label, report in result.reports.items():
        stem = result.folder / report_stem(label)
        json_path, html_path, png_path = (stem.with_suffix(s) for s in (".json", ".html", ".png"))
        if isinstance(report, StreamReport):
            write_stream_json(report, json_path)
            write_stream_html(report, html_path)
            write_stream_plot(report, png_path)
        else:
            write_json(report, json_path)
            write_html(report, html_path)
            write_plot(report, png_path)
    summary = {
        "sweep": spec.name,
        "mode": spec.mode,
        "executor": executor.name,
        "threads_per_job": executor.threads,
        "kept_from_earlier_run": result.kept,
        "jobs": [
            {k: v for k, v in j.items() if k != "result"} | {"error": _error_of(j)}
            for j in result.jobs
        ],
        "reports": {label: f"{report_stem(label)}.json" for label in result.reports},
    }
    atomic_write_json(result.folder / "sweep.json", summary)


def report_stem(dataset_label: str) -> str:
    return "report-" + re.sub(r"[^A-Za-z0-9]+", "-", dataset_label).strip("-")
