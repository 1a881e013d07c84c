"""A bounded load test of `condgan serve` on 127.0.0.1: N requests, C at a time.

    python benchmarks/load_test.py RUN_DIR                      # PyTorch backend
    python benchmarks/load_test.py --onnx g.onnx                # onnxruntime backend
    python benchmarks/load_test.py RUN_DIR --requests 500 --concurrency 8 --n 16

Starts a real server process on a free loopback port, sends GET /api/generate requests
with random labels and seeds (n images each) from C threads, and prints the error count,
latency percentiles and throughput. Never talks to anything but 127.0.0.1.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.serve.conftest import Server, get


def run(url: str, requests: int, concurrency: int, n: int, num_classes: int, seed: int = 0) -> dict:
    rng = random.Random(seed)
    urls = [
        f"{url}/api/generate?label={rng.randrange(max(num_classes, 1))}&n={n}&seed={rng.randrange(2**31)}"
        for _ in range(requests)
    ]

    def one(u: str) -> tuple[float, bool]:
        start = time.perf_counter()
        try:
            status, kind, body = get(u, timeout=60)
            ok = status == 200 and kind == "image/png" and body[:8] == b"\x89PNG\r\n\x1a\n"
        except OSError:
            ok = False
        return time.perf_counter() - start, ok

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(one, urls))
    wall = time.perf_counter() - start
    latencies = sorted(t for t, _ in results)
    q = statistics.quantiles(latencies, n=100)
    return {
        "requests": requests,
        "errors": sum(not ok for _, ok in results),
        "p50_ms": q[49] * 1e3,
        "p95_ms": q[94] * 1e3,
        "max_ms": latencies[-1] * 1e3,
        "req_per_s": requests / wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", nargs="?")
    parser.add_argument("--onnx")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--n", type=int, default=16, help="images per request")
    args = parser.parse_args()
    server = Server(*([args.run_dir] if args.run_dir else []), *(["--onnx", args.onnx] if args.onnx else []))
    try:
        import json

        classes = json.loads(get(server.url + "/api/classes")[2])["classes"]
        r = run(server.url, args.requests, args.concurrency, args.n, len(classes))
    finally:
        server.stop()
    print(
        f"{r['requests']} requests ({args.n} images each), {args.concurrency} concurrent: {r['errors']} errors; "
        f"latency p50 {r['p50_ms']:.0f} ms, p95 {r['p95_ms']:.0f} ms, max {r['max_ms']:.0f} ms; "
        f"{r['req_per_s']:.1f} requests/s"
    )


if __name__ == "__main__":
    main()
