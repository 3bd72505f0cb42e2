"""Logs for a log pipeline: with ``ERPSYNC_LOG_FORMAT=json`` the hub (a real ``erpsync serve`` process) writes one JSON
object per line for its own records and uvicorn's, with the bound context; secrets never reach them."""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from erpsync.logs import bound, configure_logging

SIGN_IN_PASSWORD = "a-wrong-password-4711"
CONNECTOR_SECRET = "connector-secret-that-must-not-leak-0815"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _erpsync(env: dict[str, str], *args: str, stdin: str = "") -> None:
    command = [str(Path(sys.executable).parent / "erpsync"), *args]
    subprocess.run(command, env=env, input=stdin, text=True, check=True, capture_output=True, timeout=120)


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_served_hub_logs_json_lines_without_secrets(tmp_path: Path) -> None:
    env = {**os.environ, "ERPSYNC_DATA_DIR": str(tmp_path / "data"), "ERPSYNC_LOG_FORMAT": "json"}
    _erpsync(env, "users", "add", "root", "--admin", "--password-stdin", stdin="a long admin password 1\n")
    port = _free_port()
    log_path = tmp_path / "hub.log"
    with log_path.open("w") as log:
        hub = subprocess.Popen(
            [str(Path(sys.executable).parent / "erpsync"), "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                deadline = time.monotonic() + 60
                while not _answers(client):
                    assert time.monotonic() < deadline, log_path.read_text()
                    time.sleep(0.2)
                refused = client.post("/api/v1/auth/token", data={"username": "root", "password": SIGN_IN_PASSWORD})
                token = client.post(
                    "/api/v1/auth/token", data={"username": "root", "password": "a long admin password 1"}
                ).json()["access_token"]
                unreachable = f"http://127.0.0.1:{_free_port()}"
                probe = client.post(
                    "/api/v1/connectors",
                    json={"name": "x", "url": unreachable, "secret": CONNECTOR_SECRET},
                    headers={"Authorization": f"Bearer {token}"},
                )
        finally:
            hub.terminate()
            hub.wait(timeout=30)
    assert refused.status_code == 401
    assert probe.status_code == 422
    text = log_path.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line is one JSON object
    assert all({"event", "level", "logger", "timestamp"} <= line.keys() for line in lines)
    assert any(line["logger"] == "uvicorn.access" for line in lines), "uvicorn's own lines come out as JSON too"
    assert any(line["logger"] == "erpsync.sync.connectors" and line["level"] == "warning" for line in lines)
    assert SIGN_IN_PASSWORD not in text
    assert CONNECTOR_SECRET not in text
    assert token not in text


def _answers(client: httpx.Client) -> bool:
    try:
        return client.get("/healthz").status_code == 200
    except httpx.TransportError:
        return False


def test_bound_context_is_on_every_line_and_secret_keys_are_redacted(restored_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("json", "INFO", stream=stream)
    logger = logging.getLogger("erpsync.sync.engine")
    with bound(connection_id=3, run_id=17):
        logger.warning("connection %s: %s", 3, "ERP refused the record")
        with bound(token="t0ken-value", password="pa55word"):
            logger.info("inner")
    logger.info("outside")
    first, inner, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert (first["connection_id"], first["run_id"], first["event"]) == (3, 17, "connection 3: ERP refused the record")
    assert (inner["token"], inner["password"], inner["run_id"]) == ("[redacted]", "[redacted]", 17)
    assert "connection_id" not in outside
    assert "t0ken-value" not in stream.getvalue()
    assert "pa55word" not in stream.getvalue()


def test_text_format_keeps_a_line_per_record_and_an_exception_stays_readable(restored_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("text", "WARNING", stream=stream)
    logger = logging.getLogger("erpsync.worker")
    logger.info("not at this level")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logger.exception("sync cycle failed")
    output = stream.getvalue()
    assert "not at this level" not in output
    assert "sync cycle failed" in output
    assert "RuntimeError: boom" in output


def test_logging_to_stderr_follows_whatever_stderr_is_now(
    restored_logging: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure_logging("json", "INFO")
    logger = logging.getLogger("erpsync.worker")
    swapped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", swapped)  # a runner swaps stderr after logging was set up...
    logger.info("while swapped")
    assert json.loads(swapped.getvalue())["event"] == "while swapped"
    swapped.close()  # ...and closes its own stream when it is done
    later = io.StringIO()
    monkeypatch.setattr(sys, "stderr", later)
    logger.warning("after the runner")  # written to the stderr of now, not to the closed one
    assert json.loads(later.getvalue())["event"] == "after the runner"
