"""A bounded load test of `condgan serve` on 127.0.0.1: N requests, C at a time.

    python benchmarks/load_test.py RUN_DIR                      # PyTorch backend
    python benchmarks/load_test.py --onnx g.onnx                # onnxruntime backend
    python benchmarks/load_test.py RUN_DIR --requests 500 --concurrency 8 --n 16
    python benchmarks/load_test.py RUN_DIR --concurrency 32,63,64,80,128 --serve-args=--max-connections=64

Starts a real server process on a free loopback port, sends GET /api/generate requests
with random labels and seeds (n images each) from C threads, and prints, per C: the
requests served, those refused with 503 + Retry-After (the server's limit), the errors
(anything else: other statuses, a 503 without Retry-After, a dropped connection),
latency percentiles and throughput. Never talks to anything but 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.serve.conftest import Server, get

PNG = b"\x89PNG\r\n\x1a\n"


def one_request(url: str, timeout: float = 60) -> tuple[float, str]:
    """(seconds, 'ok' | 'refused' | 'error') of one GET."""
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            status, headers, body = r.status, r.headers, r.read()
    except urllib.error.HTTPError as err:
        status, headers, body = err.code, err.headers, err.read()
    except OSError:
        return time.perf_counter() - start, "error"
    if status == 200 and headers.get("Content-Type") == "image/png" and body[:8] == PNG:
        outcome = "ok"
    elif status == 503 and headers.get("Retry-After"):
        outcome = "refused"
    else:
        outcome = "error"
    return time.perf_counter() - start, outcome


def run(url: str, requests: int, concurrency: int, n: int, num_classes: int, seed: int = 0) -> dict:
    rng = random.Random(seed)
    urls = [
        f"{url}/api/generate?label={rng.randrange(max(num_classes, 1))}&n={n}&seed={rng.randrange(2**31)}"
        for _ in range(requests)
    ]
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(one_request, urls))
    wall = time.perf_counter() - start
    served = sorted(t for t, outcome in results if outcome == "ok") or [0.0]
    q = statistics.quantiles(served, n=100) if len(served) > 1 else served * 99
    return {
        "requests": requests,
        "concurrency": concurrency,
        "served": sum(outcome == "ok" for _, outcome in results),
        "refused": sum(outcome == "refused" for _, outcome in results),
        "errors": sum(outcome == "error" for _, outcome in results),
        "p50_ms": q[49] * 1e3,
        "p95_ms": q[94] * 1e3,
        "max_ms": served[-1] * 1e3,
        "req_per_s": requests / wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", nargs="?")
    parser.add_argument("--onnx")
    parser.add_argument("--requests", type=int, default=500, help="requests per concurrency level")
    parser.add_argument("--concurrency", default="8", help="clients at once; a comma list runs each in turn")
    parser.add_argument("--n", type=int, default=16, help="images per request")
    parser.add_argument("--serve-args", default="", help="extra `condgan serve` flags, e.g. --max-connections=64")
    args = parser.parse_args()
    source = [args.run_dir] if args.run_dir else ["--onnx", args.onnx]
    server = Server(*source, *args.serve_args.split())
    try:
        classes = json.loads(get(server.url + "/api/classes")[2])["classes"]
        for clients in (int(c) for c in args.concurrency.split(",")):
            r = run(server.url, args.requests, clients, args.n, len(classes))
            print(
                f"{clients:>4} clients, {r['requests']} requests ({args.n} images each): {r['served']} served, "
                f"{r['refused']} refused (503 + Retry-After), {r['errors']} errors; served p50 {r['p50_ms']:.0f} ms, "
                f"p95 {r['p95_ms']:.0f} ms, max {r['max_ms']:.0f} ms; {r['req_per_s']:.1f} requests/s",
                flush=True,
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
