"""The server's documented limits, with real sockets on 127.0.0.1: the connection limit
refuses the excess only, idle and half-open sockets are closed, bad limits are refused at
start, and SIGTERM stops the process within seconds."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.serve.conftest import Server, get

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from load_test import one_request, run

LIMIT = 4


@pytest.fixture(scope="module")
def limited(tiny_onnx):
    srv = Server(
        "--onnx",
        str(tiny_onnx),
        "--max-connections",
        str(LIMIT),
        "--max-concurrent",
        "1",
        "--queue-timeout",
        "0",
        "--header-timeout",
        "1",
        "--keep-alive",
        "1",
    )
    yield srv
    srv.stop()


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """True when the server closes the socket within `within` s (what it still sends is drained)."""
    deadline = time.monotonic() + within
    try:
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            if sock.recv(65536) == b"":
                return True
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return False


def test_at_the_limit_nothing_is_refused(limited):
    """uvicorn's socket count refused 69-76% of requests at 64 clients / limit 64."""
    result = run(limited.url, requests=80, concurrency=LIMIT, n=8, num_classes=10)
    assert (result["errors"], result["refused"], result["served"]) == (0, 0, 80), result


def test_above_the_limit_only_the_excess_is_refused(limited):
    """2x the limit, each request slow (one generation at a time): refusals carry Retry-After,
    nothing else fails, and in each synchronised round at most the excess is refused."""
    url = f"{limited.url}/api/generate?label=3&n=256&seed=1"
    for _ in range(3):
        barrier = threading.Barrier(2 * LIMIT)
        outcomes: list[str] = []

        def client(barrier: threading.Barrier = barrier, outcomes: list[str] = outcomes) -> None:
            barrier.wait()
            outcomes.append(one_request(url)[1])

        threads = [threading.Thread(target=client) for _ in range(2 * LIMIT)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert "error" not in outcomes, outcomes
        assert outcomes.count("refused") <= LIMIT and outcomes.count("ok") >= LIMIT, outcomes


def test_half_open_connections_neither_block_nor_linger(limited):
    """Slowloris: sockets that trickle a header forever hold no slot and are closed after
    --header-timeout; an idle socket that never sends, and an idle keep-alive socket, too."""
    sockets = []
    for _ in range(3 * LIMIT):
        s = socket.create_connection(("127.0.0.1", limited.port))
        s.sendall(b"GET /api/generate?label=1 HTTP/1.1\r\nHost: x\r\n")
        sockets.append(s)
    silent = socket.create_connection(("127.0.0.1", limited.port))
    assert get(limited.url + "/api/generate?label=2&n=4")[0] == 200  # served while they hang
    time.sleep(0.5)
    for s in sockets:
        s.sendall(b"X-Slow: 1\r\n")  # still trickling: the deadline is per header, not per byte
    assert all(closed_by_server(s, within=3) for s in sockets)
    assert closed_by_server(silent, within=3)

    kept = socket.create_connection(("127.0.0.1", limited.port))
    kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert kept.recv(4096).startswith(b"HTTP/1.1 200")
    assert closed_by_server(kept, within=3)  # --keep-alive 1
    for s in [*sockets, silent, kept]:
        s.close()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--max-concurrent", "0"], "--max-concurrent must be 1..64, got 0"),
        (["--max-connections", "0"], "--max-connections must be 1..4096, got 0"),
        (["--queue-timeout", "nan"], "--queue-timeout must be 0..3600 seconds, got nan"),
        (["--header-timeout", "0"], "--header-timeout must be above 0 seconds"),
        (["--keep-alive", "0"], "--keep-alive must be above 0 seconds"),
        (["--threads", "0"], "--threads must be 1..1024, got 0"),
        (["--port", "70000"], "--port must be 1..65535, got 70000"),
    ],
)
def test_limits_that_cannot_work_are_refused_at_start(tiny_onnx, flags, message):
    """--max-concurrent 0 used to hang every generation while /healthz said ok."""
    result = subprocess.run(
        [sys.executable, "-m", "condgan", "serve", "--onnx", str(tiny_onnx), *flags],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_sigterm_stops_within_seconds_with_a_request_in_flight(tiny_onnx):
    srv = Server("--onnx", str(tiny_onnx), "--max-concurrent", "1")
    outcome: list[str] = []
    flight = threading.Thread(target=lambda: outcome.append(one_request(f"{srv.url}/api/generate?n=256&label=0")[1]))
    flight.start()
    time.sleep(0.05)
    start = time.monotonic()
    srv.process.send_signal(signal.SIGTERM)
    srv.process.wait(timeout=15)
    assert time.monotonic() - start < 8
    flight.join(10)
    assert outcome and outcome[0] in ("ok", "error")  # finished, or cut: never a hang
