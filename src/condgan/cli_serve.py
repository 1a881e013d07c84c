"""`condgan serve`: the page and the HTTP API behind uvicorn, with the limits checked at start."""

from __future__ import annotations

import argparse

from condgan.errors import CondganError


def cmd_serve(args: argparse.Namespace) -> None:
    try:
        import uvicorn

        from condgan.serve.app import create_app
    except ImportError as err:
        raise CondganError(f"{err.name} is not installed: pip install 'condgan[serve]'") from None
    from condgan.serve.backends import OnnxBackend, TorchBackend

    if (args.run_dir is None) == (args.onnx is None):
        raise CondganError("give a RUN_DIR (PyTorch) or --onnx FILE (onnxruntime), not both or neither")
    from condgan.serve.limits import MAX_SOCKETS, Admission, timed_protocol

    _check_serve_limits(args)
    threads = args.threads
    if threads is None:  # one per core that other processes leave free (condgan.threads)
        from condgan.threads import choose_now

        chosen = choose_now(apply=False)  # the backend sets them (onnxruntime's without loading torch)
        if chosen is not None:
            threads = chosen.threads if chosen.threads < chosen.available or chosen.by_hand else None
            print(f"compute threads: {chosen.reason}", flush=True)
    backend = OnnxBackend(args.onnx, threads) if args.onnx else TorchBackend(args.run_dir, threads)
    app = Admission(create_app(backend, max_concurrent=args.max_concurrent), args.max_connections, args.queue_timeout)
    print(f"serving {args.onnx or args.run_dir} ({backend.name}) on http://{args.host}:{args.port}/", flush=True)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="warning",
        http=timed_protocol(args.header_timeout),
        timeout_keep_alive=args.keep_alive,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        limit_concurrency=max(MAX_SOCKETS, 2 * args.max_connections),
    )


SHUTDOWN_GRACE_S = 3  # SIGTERM: in-flight requests get this long, then are cut


def _check_serve_limits(args: argparse.Namespace) -> None:
    """Refused at start: a server that can run no generation would hang every request."""
    whole = {
        "--max-concurrent": (args.max_concurrent, 1, 64),
        "--max-connections": (args.max_connections, 1, 4096),
        "--port": (args.port, 1, 65535),
        "--threads": (1 if args.threads is None else args.threads, 1, 1024),  # None: the library's own
    }
    for flag, (value, low, high) in whole.items():
        if not low <= value <= high:
            raise CondganError(f"{flag} must be {low}..{high}, got {value}")
    # seconds: waiting may be 0 (refuse at once); a timer of 0 would close every connection
    for flag, value, zero_ok in (
        ("--queue-timeout", args.queue_timeout, True),
        ("--keep-alive", args.keep_alive, False),
        ("--header-timeout", args.header_timeout, False),
    ):
        if not 0 <= value <= 3600:  # NaN fails too
            raise CondganError(f"{flag} must be 0..3600 seconds, got {value}")
        if value == 0 and not zero_ok:
            raise CondganError(f"{flag} must be above 0 seconds")


def add_serve(sub) -> None:
    srv = sub.add_parser("serve", help="serve a generator: demo page and HTTP API ([serve] extra)")
    srv.add_argument("run_dir", metavar="RUN_DIR", nargs="?", help="a run directory (PyTorch backend)")
    srv.add_argument("--onnx", metavar="FILE", help="serve this ONNX export with onnxruntime instead")
    srv.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    srv.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    srv.add_argument("--threads", type=int, default=None, help="compute threads (default: one per free core)")
    srv.add_argument("--max-concurrent", type=int, default=2, help="generations running at once (default: 2)")
    srv.add_argument(
        "--max-connections",
        type=int,
        default=64,
        help="requests served at once; the excess waits --queue-timeout, then gets 503 + Retry-After (default: 64)",
    )
    srv.add_argument(
        "--queue-timeout", type=float, default=2.0, help="seconds a request beyond the limit waits (default: 2)"
    )
    srv.add_argument("--keep-alive", type=float, default=5.0, help="idle keep-alive connections closed after (s, 5)")
    srv.add_argument(
        "--header-timeout",
        type=float,
        default=10.0,
        help="connections with no whole request header closed after (s, 10)",
    )
    srv.set_defaults(func=cmd_serve)
