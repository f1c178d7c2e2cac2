"""Mint from a Celery task queue: the README recipe, run by tests/test_task_queue.py.

Start a worker with ``celery -A examples.celery_app worker --concurrency 8`` (your broker and
result backend in ``CELERY_BROKER_URL`` / ``CELERY_RESULT_BACKEND``; the API key and base URL in
``MINT_API_KEY`` / ``MINT_BASE_URL``), then ``make_world.delay("job-1234", "a harbour")``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from celery import Celery
from celery.signals import worker_process_init, worker_process_shutdown

from mint_ext import (
    APIConnectionError,
    InternalServerError,
    Mint,
    RateLimitError,
    WaitTimeoutError,
    idempotency_key,
)

WAIT_TIMEOUT = 30 * 60  # seconds one wait may take (a world takes minutes)
DOWNLOAD_BUDGET = 30 * 60  # seconds the download of one job may take
JOB_TIME_LIMIT = WAIT_TIMEOUT + DOWNLOAD_BUDGET
OUTPUT = Path(os.environ.get("MINT_JOBS_OUTPUT", "jobs"))  # one folder per job inside

app = Celery("mint_jobs")
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    worker_prefetch_multiplier=1,  # a worker holds no more jobs than it runs
    # Redis/SQS redeliver an unacknowledged job after this: longer than any job can take.
    broker_transport_options={"visibility_timeout": JOB_TIME_LIMIT + 10 * 60},
)

_mint: Mint | None = None


@worker_process_init.connect
def open_client(**_: Any) -> None:
    """One client (one connection pool) per worker process, made in that process."""
    global _mint
    _mint = Mint(max_retries=5)


@worker_process_shutdown.connect
def close_client(**_: Any) -> None:
    if _mint is not None:
        _mint.close()


def mint() -> Mint:
    if _mint is None:  # a solo or threads pool sends no worker_process_init
        open_client()
    assert _mint is not None
    return _mint


@app.task(
    bind=True,
    acks_late=True,  # acknowledged when done: a killed worker's job runs again
    reject_on_worker_lost=True,  # ... and is requeued, not failed
    time_limit=JOB_TIME_LIMIT,
    autoretry_for=(APIConnectionError, InternalServerError, RateLimitError, WaitTimeoutError),
    retry_backoff=True,
    max_retries=5,
)
def make_world(self: Any, job_id: str, prompt: str) -> dict[str, Any]:
    """Generate a world for ``job_id`` and download it into the job's own folder.

    Safe to run twice: the key comes from the job id, so a second run gets the operation the
    first one started (never a second paid one), and the download skips complete files and
    resumes partial ones.
    """
    client = mint()
    op = client.worlds.generate(prompt=prompt, idempotency_key=idempotency_key("world", job_id))
    self.update_state(state="WAITING", meta={"operation_id": op.id, "pid": os.getpid()})
    op = client.operations.wait(op.id, timeout=WAIT_TIMEOUT)
    self.update_state(state="DOWNLOADING", meta={"operation_id": op.id, "pid": os.getpid()})
    report = client.assets.download(op, OUTPUT / job_id)
    return {"job_id": job_id, "operation_id": op.id, "world_id": op.resource_id,
            "download": report.to_dict()}  # fmt: skip
