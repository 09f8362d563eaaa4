"""The dashboard in a real headless Chromium, fed by a real replay through a real worker.

Real Kafka and Redis, a real `emopipe worker` (every stage, preview included), the real
`emopipe dashboard` server, Debian's Chromium driven by Selenium. The first minutes of two real
Stress-Predict E4 recordings are replayed; the page must draw the tiles as the events arrive, the
subject view's timeline must grow while the page stays open, and when S02's EDA stream stops the
page must show EDA missing. Screenshots are saved in the test's tmp dir (and, with
EMOPIPE_SCREENSHOT_DIR set, copied there: that is how docs/dashboard.png is made).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from agents.connections import free_port
from agents.producer import ChunkProducer
from agents.redis_sink import RedisEventSink
from agents.sources import read_e4_session
from agents.topics import ensure_topics
from deploy.settings import REPO_ROOT, Settings
from pipeline.events import EmotionEvent, ModalityStatus
from pipeline.sources.e4 import e4_session_chunks
from tools.browser import chromium, full_page_screenshot, missing_parts

#: S02: all four streams for FIRST_MIN minutes, then EDA stops and the others go on to TOTAL_MIN
FIRST_MIN, TOTAL_MIN = 4, 10
#: S03: all streams, FIRST_MIN minutes
HOSTILE = "<img src=x onerror=window.__pwned=1>"


def _chunks(data_dir: Path, subject: str, minutes: float) -> list:
    signals = read_e4_session(data_dir / "stress-predict" / "Raw_data" / subject)
    cut = {k: dataclasses.replace(s, samples=s.samples[:, : int(minutes * 60 * s.fs_hz)]) for k, s in signals.items()}
    return list(e4_session_chunks(cut, subject_id=subject, session_id="s1", chunk_s=1.0))


def _produce(settings: Settings, chunks: list) -> None:
    with ChunkProducer(settings.kafka_bootstrap, settings=settings) as producer:
        for c in sorted(chunks, key=lambda c: (c.t0_ns, c.subject_id)):
            producer.send(c)


def _get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type", ""), err.read().decode()


# The page re-renders as events arrive, so elements are read in one script call (no stale references).
def _attrs(driver, selector: str, attr: str) -> list:
    js = "return [...document.querySelectorAll(arguments[0])].map((e) => e.getAttribute(arguments[1]))"
    return driver.execute_script(js, selector, attr)


def _texts(driver, selector: str) -> list:
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map((e) => e.textContent)", selector
    )


def _points(driver) -> int:
    return int((_attrs(driver, "#timeline", "data-points") or ["0"])[0])


def _wait(driver, what: str, predicate, timeout_s: float):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate(driver)
        if value:
            return value
        time.sleep(0.25)
    text = driver.execute_script("return document.getElementById('main').innerText")[:1500]
    pytest.fail(f"page never showed {what} within {timeout_s:.0f} s; page text:\n{text}")


def _write_hostile_event(redis_url: str, prefix: str) -> None:
    """An event whose subject-visible strings are markup, through the real Redis sink."""
    import asyncio

    ev = EmotionEvent(
        subject_id="X1",
        session_id="s1",
        window_start_ns=0,
        window_end_ns=60_000_000_000,
        label=HOSTILE,
        probabilities={HOSTILE: 1.0},
        modalities={"eda": ModalityStatus(True, 0.4, (HOSTILE,))},
        model_name="hand-written",
        model_version="0",
        latency_ns={"published_ns": time.time_ns()},
    )

    async def go() -> None:
        sink = RedisEventSink(redis_url, prefix=prefix)
        await sink.start()
        try:
            await sink.write(ev)
        finally:
            await sink.close()

    asyncio.run(go())


@pytest.fixture
def dashboard_server(tmp_path, redis_url, unique_prefix):
    """Factory: start `emopipe dashboard --port 0` for a worker URL; returns its base URL."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(worker_url: str) -> str:
        log = tmp_path / "dashboard.log"
        env = {**os.environ, "EMOPIPE_REDIS_URL": redis_url, "EMOPIPE_TOPIC_PREFIX": unique_prefix}
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "agents.cli", "dashboard", "--port", "0", "--workers", worker_url],
                cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        procs.append(proc)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            text = log.read_text(errors="replace")
            if "emopipe dashboard: http://" in text:
                return text.split("emopipe dashboard: ", 1)[1].split()[0].rstrip("/")
            if proc.poll() is not None:
                pytest.fail(f"dashboard exited with {proc.returncode}:\n{text}")
            time.sleep(0.2)
        pytest.fail(f"dashboard did not start:\n{log.read_text(errors='replace')}")

    yield start
    for p in procs:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


def test_dashboard_live_in_chromium(
    shared_data, kafka_bootstrap, redis_url, unique_prefix, start_worker, dashboard_server, tmp_path
):
    missing = missing_parts()
    if missing:
        pytest.fail(f"the browser test needs {', '.join(missing)} (deploy/bootstrap.sh installs them)", pytrace=False)
    t_start = time.monotonic()
    settings = Settings(
        kafka_bootstrap=kafka_bootstrap, redis_url=redis_url, topic_prefix=unique_prefix, app_id=unique_prefix,
        partitions=1,
    )  # fmt: skip
    s02 = _chunks(shared_data, "S02", TOTAL_MIN)
    t_stop = min(c.t0_ns for c in s02) + FIRST_MIN * 60 * 10**9
    phase1 = [c for c in s02 if c.t0_ns < t_stop] + _chunks(shared_data, "S03", FIRST_MIN)
    phase2 = [c for c in s02 if c.t0_ns >= t_stop and c.modality != "eda"]  # the EDA stream stops
    ensure_topics(settings)
    web_port = free_port()
    worker = start_worker(unique_prefix, extra_env={"EMOPIPE_PARTITIONS": "1", "EMOPIPE_WEB_PORT": str(web_port)})
    base = dashboard_server(f"http://127.0.0.1:{web_port}")

    # bad input: clear 4xx errors, never a stack trace
    for path, status in [
        ("/api/subjects/NOPE", 404),
        ("/api/subjects/%3Cscript%3E", 400),
        ("/api/subjects/S02?count=lots", 400),
        ("/api/subjects/S02?count=5&x=1", 400),
        ("/api/stream?subject=S02", 400),
        ("/api/nothing-here", 404),
    ]:
        code, ctype, body = _get(base + path)
        assert code == status and ctype.startswith("application/json"), (path, code, body)
        assert "error" in json.loads(body) and "Traceback" not in body
    code, ctype, body = _get(base + "/no-such-page?<b>")
    assert code == 404 and ctype.startswith("text/html") and "<b>" not in body and "Traceback" not in body

    driver = chromium(tmp_path / "chromium-profile")
    try:
        driver.get(base + "/")
        _wait(driver, "the connection", lambda d: _attrs(d, "#conn", "data-state") == ["live"], 15)
        assert _attrs(driver, "#no-subjects", "id"), "no subjects before the replay"
        worker.wait_ready()
        t_replay = time.monotonic()
        print(f"\nworker ready after {t_replay - t_start:.1f} s")
        _produce(settings, phase1)

        # tiles appear live (no reload)
        _wait(driver, "tiles for S02 and S03", lambda d: {"S02", "S03"} <= set(_attrs(d, ".tile", "data-subject")), 60)
        print(f"tiles after {time.monotonic() - t_replay:.1f} s of replay")
        # the fused label is one of the classes whose probabilities the tile draws (v1: stress classes, v2: affect)
        classes = _attrs(driver, '.tile[data-subject="S02"] .prob .name', "title")
        assert len(classes) >= 2 and _texts(driver, '.tile[data-subject="S02"] .label')[0] in classes
        s02_mods = '.tile[data-subject="S02"] .mod'
        chips = dict(
            zip(_attrs(driver, s02_mods, "data-modality"), _attrs(driver, s02_mods, "data-present"), strict=True)
        )
        assert chips == {"acc": "true", "bvp": "true", "eda": "true", "temp": "true"}
        assert "quality" in _attrs(driver, s02_mods + '[data-modality="bvp"]', "title")[0]  # reasons on hover

        # user-controlled strings are text, never markup
        _write_hostile_event(redis_url, unique_prefix)
        _wait(driver, "the X1 tile", lambda d: _attrs(d, '.tile[data-subject="X1"]', "data-subject"), 15)
        assert _texts(driver, '.tile[data-subject="X1"] .label') == [HOSTILE]
        assert HOSTILE in _attrs(driver, '.tile[data-subject="X1"] .mod', "title")[0]
        assert not _attrs(driver, "#main img", "src")
        assert driver.execute_script("return window.__pwned === undefined")
        full_page_screenshot(driver, tmp_path / "dashboard-subjects.png")

        # the subject view: timeline, signals (previews), latency
        driver.execute_script("document.querySelector('.tile[data-subject=\"S02\"] a').click()")
        n1 = _wait(driver, "the timeline", _points, 20)
        _wait(
            driver,
            "a preview of every modality",
            lambda d: set(_attrs(d, "#signals .signal", "data-modality")) >= {"acc", "bvp", "eda", "temp"},
            30,
        )
        assert _attrs(driver, "#signals svg.spark polygon", "points")  # min/max envelopes drawn
        assert "total" in _texts(driver, "#latency")[0]

        # EDA stops: the timeline grows while the page is open, and EDA is shown missing
        _produce(settings, phase2)
        _wait(driver, "more timeline points", lambda d: _points(d) > n1 + 12, 60)
        eda = '.tile[data-subject="S02"] .mod[data-modality="eda"]'
        _wait(driver, "EDA missing", lambda d: _attrs(d, eda, "data-present") == ["false"], 60)
        print(f"EDA missing after {time.monotonic() - t_replay:.1f} s of replay")
        n2 = _points(driver)
        assert _texts(driver, eda) == ["eda missing"]
        assert _attrs(driver, '.tile[data-subject="S02"] .mod[data-modality="bvp"]', "data-present") == ["true"]
        time.sleep(1.0)
        shot = full_page_screenshot(driver, tmp_path / "dashboard.png")

        # the pipeline view shows what the worker's own endpoints say, nothing computed a second way
        code, _, metrics = _get(f"http://127.0.0.1:{web_port}/metrics")
        has_metrics = code == 200 and "emopipe_" in metrics
        driver.execute_script("document.getElementById('nav-pipeline').click()")
        if has_metrics:
            _wait(driver, "the stages table", lambda d: _attrs(d, "#stages tr[data-stage]", "data-stage"), 15)
        else:
            _wait(driver, "'worker metrics unavailable'", lambda d: _texts(d, "#metrics-unavailable"), 15)
            assert "worker metrics unavailable" in _texts(driver, "#metrics-unavailable")[0]
        assert _attrs(driver, "#workers tr[data-worker]", "data-worker") == [f"http://127.0.0.1:{web_port}"]
        full_page_screenshot(driver, tmp_path / "dashboard-pipeline.png")
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, errors
    finally:
        driver.quit()
    print(f"screenshot: {shot} (timeline {n1} -> {n2} windows; {time.monotonic() - t_start:.0f} s)")
    if out_dir := os.environ.get("EMOPIPE_SCREENSHOT_DIR"):
        shutil.copy(shot, Path(out_dir) / "dashboard.png")
    assert "Crashed" not in worker.log()


def _v2_event(subject: str, end_s: int) -> dict:
    """A fused schema-v2 event as SHAPE.md specifies it, written by hand (the pipeline emits v1 until
    pipeline/events.py moves to v2): the page must show heads, weights and arousal/valence."""
    affect = [
        "neutral",
        "high-arousal positive",
        "high-arousal negative",
        "low-arousal negative",
        "low-arousal positive",
    ]
    now = time.time_ns()
    return {
        "schema_version": 2, "kind": "fused", "head": None, "subject_id": subject, "session_id": "s1",
        "window_start_ns": (end_s - 60) * 10**9, "window_end_ns": end_s * 10**9,
        "label": "high-arousal negative", "probabilities": dict(zip(affect, [0.1, 0.1, 0.6, 0.1, 0.1], strict=True)),
        "arousal": 0.6, "valence": -0.4, "condition": "TSST",
        "modalities": {"eda": {"present": True, "quality": 0.9, "reasons": [], "weight": 0.7},
                       "eeg": {"present": False, "quality": 0.0, "reasons": ["missing"], "weight": 0.0}},
        "heads": {
            "stress_binary": {"model_name": "stress_binary", "model_version": "1.1.0", "label": "stress",
                              "probabilities": {"non-stress": 0.3, "stress": 0.7}, "arousal": 0.7, "valence": -0.5,
                              "weight": 0.7, "quality": 0.9, "modalities": ["eda"], "synthetic": False},
            "speech_tcn": {"model_name": "speech_tcn", "model_version": "0.3", "label": "angry",
                           "probabilities": {"angry": 0.8, "calm": 0.2}, "arousal": 0.4, "valence": -0.2,
                           "weight": 0.3, "quality": 0.6, "modalities": ["audio"], "synthetic": False},
        },
        "model_name": "fusion", "model_version": "2.0", "synthetic": False,
        "latency_ns": {"ingest_ns": now - 30_000_000, "published_ns": now - 1_000_000, "redis_write_ns": now},
        "event_id": f"{subject}:{end_s * 10**9}:fusion@2.0",
    }  # fmt: skip


def test_dashboard_shows_v2_fields_and_shares_one_subscription(redis_url, unique_prefix, dashboard_server, tmp_path):
    """Hand-written v2 events (see _v2_event) through real Redis to the page; one Redis subscription
    serves every tab."""
    import threading

    import redis

    missing = missing_parts()
    if missing:
        pytest.fail(f"the browser test needs {', '.join(missing)} (deploy/bootstrap.sh installs them)", pytrace=False)
    r = redis.Redis.from_url(redis_url)
    base = dashboard_server(f"http://127.0.0.1:{free_port()}")  # no worker there: metrics unavailable

    def write(ev: dict) -> None:
        payload = json.dumps(ev)
        s = ev["subject_id"]
        r.xadd(f"{unique_prefix}:events:{s}", {"event": payload})
        r.hset(f"{unique_prefix}:latest:{s}", mapping={"event": payload, "window_end_ns": ev["window_end_ns"]})
        r.sadd(f"{unique_prefix}:subjects", s)
        r.publish(f"{unique_prefix}:live:all", payload)

    # two more tabs' worth of SSE connections besides the browser's
    stop = threading.Event()

    def reader() -> None:
        with urllib.request.urlopen(base + "/api/stream", timeout=30) as resp:
            while not stop.is_set() and resp.readline():
                pass

    readers = [threading.Thread(target=reader, daemon=True) for _ in range(2)]
    for t in readers:
        t.start()
    driver = chromium(tmp_path / "chromium-profile")
    try:
        driver.get(base + "/")
        _wait(driver, "the connection", lambda d: _attrs(d, "#conn", "data-state") == ["live"], 15)
        write(_v2_event("V2", 1000))
        _wait(driver, "the V2 tile", lambda d: _attrs(d, '.tile[data-subject="V2"]', "data-subject"), 15)
        tile = '.tile[data-subject="V2"]'
        assert _attrs(driver, tile + " svg.circumplex", "data-has-point") == ["true"]
        cx, cy = _attrs(driver, tile + " .av-point", "cx")[0], _attrs(driver, tile + " .av-point", "cy")[0]
        # 110 px circumplex, radius 43 around (55, 55): valence -0.4 to the left, arousal 0.6 up
        assert (float(cx), float(cy)) == pytest.approx((55 - 0.4 * 43, 55 - 0.6 * 43), abs=0.01)
        assert "stress_binary stress (70%)" in _texts(driver, tile + " .heads")[0]
        assert _texts(driver, tile + " .condition") == ["TSST"]
        assert _attrs(driver, tile + ' .mod[data-modality="eeg"]', "data-present") == ["false"]
        # one pub/sub connection for the page and the two other streams
        clients = [
            c
            for c in r.client_list()
            if c.get("cmd") in {"subscribe", "psubscribe", "ping"} and c.get("sub", "0") != "0"
        ]
        assert r.pubsub_numsub(f"{unique_prefix}:live:all") == [(f"{unique_prefix}:live:all".encode(), 1)]
        assert r.pubsub_numpat() == 1, clients
        # the subject view: heads table and a growing timeline
        driver.execute_script("location.hash = '#/subject/V2'")
        _wait(driver, "the heads table", lambda d: _attrs(d, "#heads tr[data-head]", "data-head"), 15)
        assert _attrs(driver, "#heads tr[data-head]", "data-head") == ["stress_binary", "speech_tcn"]  # by weight
        assert _points(driver) == 1
        write(_v2_event("V2", 1005))
        _wait(driver, "a second timeline point", lambda d: _points(d) == 2, 15)
        full_page_screenshot(driver, tmp_path / "dashboard-v2.png")
        print(f"\nscreenshot: {tmp_path / 'dashboard-v2.png'}")
        # an unknown subject in the URL: the page says so (the API's 404 message), no stack trace
        driver.execute_script("location.hash = '#/subject/NOPE'")
        msg = _wait(driver, "the unknown-subject message", lambda d: _texts(d, "#subject-error"), 15)[0]
        assert "unknown subject 'NOPE'" in msg
    finally:
        stop.set()
        driver.quit()
