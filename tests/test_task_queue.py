"""The README's task-queue recipe (``examples/celery_app.py``) on a real Celery worker (issue 15).

A prefork worker (4 processes) on kombu's filesystem broker with a ``file://`` result backend
(no server to run) drives the fake Mint on loopback (``serve_fake_mint``, a real clock at 2x,
assets streamed at a limited rate so waits and downloads take long enough to be interrupted).
One worker child is SIGKILLed while it waits and one while it downloads. Every job must then
complete, the fake must have created exactly one operation per job, every file on disk must be
the fake's bytes, no ``.part`` may be left, and an SDK error raised in a task must come back
from ``AsyncResult.get()`` as itself. Every wait in here is bounded; nothing sleeps a fixed time
to let something happen. ``-m "not celery"`` deselects the end-to-end test.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from examples import celery_app
from mint_ext import OperationFailedError, idempotency_key
from mint_ext.testing import FakeMint, RealClock, Timings, serve_fake_mint

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk_test_task_queue"
JOBS = 20
MIB = 1024 * 1024
PARTIAL = MIB  # bytes a download has written when its process is killed
DEADLINE = 150.0  # seconds for the whole run, however loaded the machine (about 20 s idle)
T = TypeVar("T")


def test_the_recipe_has_the_settings_the_readme_promises() -> None:
    conf, task = celery_app.app.conf, celery_app.make_world
    assert task.acks_late and task.reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert task.time_limit >= celery_app.WAIT_TIMEOUT + celery_app.DOWNLOAD_BUDGET
    assert conf.broker_transport_options["visibility_timeout"] > task.time_limit
    assert conf.result_serializer == conf.task_serializer == "json"


def test_the_readme_shows_the_recipe_as_it_is() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    source = (ROOT / "examples" / "celery_app.py").read_text(encoding="utf-8")
    body = source.split('"""\n\n', 1)[1]  # after the module docstring
    # A `py` fence: tests/test_readme.py runs the `python` ones, this one is run from here.
    assert f"```py\n{body}```\n" in readme


def _until(what: str, check: Callable[[], T | None], deadline: float) -> T:
    """Poll ``check`` until it returns something, or fail naming ``what`` at ``deadline``."""
    while True:
        found = check()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _partial_bytes(folder: Path) -> int:
    """Bytes in the ``.part`` files under ``folder`` (one may be renamed while we look)."""
    total = 0
    for part in folder.rglob("*.part"):
        with contextlib.suppress(FileNotFoundError):
            total += part.stat().st_size
    return total


def _parent_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("PPid:"):
            return int(line.split()[1])
    raise AssertionError(f"no parent for {pid}")


@contextlib.contextmanager
def _worker(tmp: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    log = (tmp / "worker.log").open("wb")
    cmd = [sys.executable, "-m", "celery", "-A", "jobs_broker", "worker", "--pool", "prefork",
           "--concurrency", "4", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
           "--without-heartbeat", "-n", f"recipe-{os.getpid()}@localhost"]  # fmt: skip
    worker = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)  # fmt: skip
    try:
        yield worker
    finally:
        worker.send_signal(signal.SIGQUIT)  # cold shutdown: every job is done (or the test failed)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):  # children left by a failed run
            os.killpg(worker.pid, signal.SIGKILL)
        log.close()


@pytest.mark.celery
def test_the_recipe_survives_killed_workers(tmp_path: Path) -> None:
    started = time.monotonic()
    deadline = started + DEADLINE
    out = tmp_path / "jobs"
    broker = {"data_folder_in": str(tmp_path / "broker"), "data_folder_out": str(tmp_path / "broker"),
              "processed_folder": str(tmp_path / "processed"), "store_processed": False,
              "control_folder": str(tmp_path / "control"),  # not ./control in the cwd
              "polling_interval": 0.05}  # fmt: skip
    for folder in ("broker", "processed", "results", "control"):
        (tmp_path / folder).mkdir()
    settings = {"broker_url": "filesystem://", "result_backend": f"file://{tmp_path / 'results'}",
                "broker_transport_options": broker,
                "worker_lost_wait": 1.0}  # a killed child's job is requeued after 1 s, not 10  # fmt: skip
    # The worker imports the recipe as it is and adds only where its broker and backend are.
    (tmp_path / "jobs_broker.py").write_text(
        "import json\nfrom examples.celery_app import app\n"
        f"settings = json.loads({json.dumps(json.dumps(settings))})\n"
        "settings['broker_transport_options'] = {**app.conf.broker_transport_options,\n"
        "                                        **settings['broker_transport_options']}\n"
        "app.conf.update(settings)\n"
    )
    app = celery_app.app
    saved = {name: app.conf[name] for name in settings}
    _forget_backend(app)
    app.conf.update(settings, broker_transport_options={**saved["broker_transport_options"],
                                                       **broker})  # fmt: skip
    fake = FakeMint(
        api_keys=(KEY,),
        clock=RealClock(speed=4.0),
        # Queued for 0.5 s (real), then 1 s more to succeeded: a job killed while its operation is
        # queued was surely still waiting when it died.
        timings=Timings(queued=2.0, running=2.0, preview=0.5, final=1.5),
        retry_after=0.25,  # the server's Retry-After on polls: the SDK polls every 0.25 s
        asset_size=16 * 1024,
        # The server sends 1 MiB chunks, each followed by its share of time at --asset-rate: a
        # 2 MiB splat takes ~1 s, with 1 MiB of it on disk halfway.
        asset_sizes={"spz": 2 * MIB, "rad": 2 * MIB, "glb": 256 * 1024},
        asset_rate=2 * MIB,
    )
    try:
        with serve_fake_mint(fake) as server:
            env = {**os.environ, "MINT_BASE_URL": server.base_url, "MINT_API_KEY": KEY,
                   "MINT_JOBS_OUTPUT": str(out), "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}  # fmt: skip
            env.pop("MINT_LOG", None)
            with _worker(tmp_path, env) as worker:
                try:
                    figures = _run_jobs(fake, server.base_url, out, worker, deadline)
                except BaseException:
                    log = (tmp_path / "worker.log").read_text(errors="replace")
                    print("worker log (last 6000 characters):\n", log[-6000:])
                    raise
    finally:
        app.conf.update(saved)
        _forget_backend(app)
    figures["wall_seconds"] = round(time.monotonic() - started, 1)
    print("task-queue recipe:", json.dumps(figures))


def _forget_backend(app: Any) -> None:
    """The next use of ``app.backend`` and its broker pool makes them from the settings."""
    with contextlib.suppress(AttributeError):
        del app._local.backend
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None


def _run_jobs(
    fake: FakeMint, base_url: str, out: Path, worker: subprocess.Popen[bytes], deadline: float
) -> dict[str, Any]:
    jobs = {f"job-{n:03d}": f"world number {n}" for n in range(JOBS)}
    results = {
        job: celery_app.make_world.apply_async((job, prompt)) for job, prompt in jobs.items()
    }
    failing = celery_app.make_world.apply_async(("job-fails", "[fail] a world that fails"))

    def phase(
        name: str, extra: Callable[[str, dict[str, Any]], bool]
    ) -> tuple[str, dict[str, Any]]:
        def check() -> tuple[str, dict[str, Any]] | None:
            for job, result in results.items():
                if job not in killed and result.state == name:
                    info = result.info
                    if isinstance(info, dict) and extra(job, info):
                        return job, info
            return None

        return _until(f"a job in {name}", check, deadline)

    def kill(job: str, info: dict[str, Any]) -> None:
        pid = int(info["pid"])
        assert pid != worker.pid and _parent_of(pid) == worker.pid  # a child, not the worker
        os.kill(pid, signal.SIGKILL)
        killed[job] = pid

    killed: dict[str, int] = {}
    # While it waits: the operation is not finished yet, so the child cannot have seen it done.
    job, info = phase("WAITING", lambda job, info: fake.operation_status(info["operation_id"])
                      == "queued")  # fmt: skip
    kill(job, info)
    waiting_kill = job
    assert fake.operation_status(info["operation_id"]) not in ("succeeded", "failed")
    # While it downloads: a partial file of this job is on disk, and still is after the kill.
    job, info = phase("DOWNLOADING", lambda job, info: _partial_bytes(out / job) >= PARTIAL)
    kill(job, info)
    downloading_kill = job
    assert _partial_bytes(out / job) >= PARTIAL

    done = {}
    for job, result in results.items():
        done[job] = result.get(timeout=max(1.0, deadline - time.monotonic()), propagate=True)
    with pytest.raises(OperationFailedError) as failed:  # an SDK error, as itself, over JSON
        failing.get(timeout=max(1.0, deadline - time.monotonic()))
    assert failed.value.operation_id and failed.value.operation.status == "failed"
    assert worker.poll() is None, "the worker itself must survive its children being killed"

    stats = httpx.get(f"{base_url}/_fake/stats", timeout=10).json()
    assert stats["operationsCreated"] == JOBS + 1  # one per job, the failing one included
    keys = stats["idempotencyKeys"]
    files = resumed = 0
    for job, value in done.items():
        assert value["job_id"] == job
        entry = keys[idempotency_key("world", job)]
        assert entry["operationId"] == value["operation_id"]
        if job in killed:  # it ran again, and posted again, but started nothing new
            assert entry["requests"] >= 2, (job, entry)
        assert [p.name for p in (out / job).iterdir()] == [value["world_id"]]  # one world
        report = value["download"]
        assert report["assets"] and not [a for a in report["assets"] if a["status"] == "failed"]
        world = httpx.get(f"{base_url}/v1/worlds/{value['world_id']}", timeout=10,
                          headers={"Authorization": f"Bearer {KEY}"}).json()  # fmt: skip
        for asset in report["assets"]:
            data = Path(asset["path"]).read_bytes()
            if asset["url"] is None:  # the caption: text of the world, no file on the origin
                expected = world["assets"]["caption"].encode()
            else:
                expected = fake.asset(asset["url"]).read()
            digest = hashlib.sha256(data).hexdigest()
            assert data == expected and digest == asset["sha256"], asset["path"]
            files += 1
            resumed += asset["resumed_from"] > 0
    assert len({v["operation_id"] for v in done.values()}) == JOBS
    assert not list(out.rglob("*.part")) and not list(out.rglob("*.part.json"))
    # Its second run went on from the partial files the killed one left.
    again = done[downloading_kill]["download"]["assets"]
    resumed_bytes = sum(a["resumed_from"] for a in again)
    assert resumed_bytes > 0, again
    return {"jobs": JOBS + 1, "kills": {"waiting": waiting_kill, "downloading": downloading_kill},
            "operations_created": stats["operationsCreated"], "files_checked": files,
            "files_resumed": resumed, "resumed_bytes": resumed_bytes,
            "posts": sum(k["requests"] for k in keys.values())}  # fmt: skip
