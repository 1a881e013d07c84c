"""The HTTP API and the demo page (DESIGN.md: GET /, /api/classes, /api/generate, /healthz).

Every parameter is validated (4xx with a JSON {"error": ...}); generation runs in worker
threads, at most `max_concurrent` at a time; nothing from a request touches the file system.
Noise comes from numpy (a pure function of the seed), so both backends draw the same images.
"""

from __future__ import annotations

import asyncio
import io
from importlib import resources

import numpy as np
from fastapi import FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from PIL import Image

from condgan.errors import CondganError
from condgan.images import hwc, make_grid, quantize_array
from condgan.labels import resolve_label
from condgan.serve.backends import Backend

MAX_N = 256
MAX_SEED = 2**32 - 1
MAX_URL = 2048  # a longer request line is refused before any work
COLUMNS = 8
Seed = Query(0, ge=0, le=MAX_SEED, description="noise seed: same seed, same images")


def noise(seed: int, n: int, z_dim: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, z_dim), dtype=np.float32)


def slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Spherical interpolation: intermediate noise keeps the norm typical of N(0, I) samples."""
    cos = float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if omega < 1e-6:
        return (1 - t) * a + t * b
    return (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)


def png(images: np.ndarray, ncol: int) -> Response:
    """(N, C, H, W) in [-1, 1] -> a PNG grid response."""
    grid = make_grid(hwc(quantize_array(images)), ncol=max(1, min(ncol, len(images))))
    buffer = io.BytesIO()
    Image.fromarray(grid).save(buffer, format="PNG")
    return Response(buffer.getvalue(), media_type="image/png", headers={"Cache-Control": "no-store"})


def create_app(backend: Backend, max_concurrent: int = 2) -> FastAPI:
    app = FastAPI(title="condgan", docs_url=None, redoc_url=None, openapi_url=None)
    page = (resources.files("condgan.serve") / "static" / "index.html").read_text()
    slots = asyncio.Semaphore(max_concurrent)
    k = len(backend.class_names)

    def one_hot(labels: list[int]) -> np.ndarray | None:
        return np.eye(k, dtype=np.float32)[labels] if k else None

    def label_index(label: str | None) -> int | None:
        if not k:
            if label is not None:
                raise CondganError("this generator is unconditional: it takes no label")
            return None
        if label is None:
            raise CondganError(f"label is required: a class index 0..{k - 1} or a name")
        return resolve_label(label, backend.class_names)

    async def generate(z: np.ndarray, condition: np.ndarray | None) -> np.ndarray:
        async with slots:
            return await run_in_threadpool(backend, z, condition)

    @app.middleware("http")
    async def bounded_requests(request: Request, call_next):
        if len(str(request.url)) > MAX_URL:
            return JSONResponse({"error": f"request URL longer than {MAX_URL} characters"}, status_code=414)
        if request.method not in ("GET", "HEAD"):
            return JSONResponse({"error": "only GET requests are served"}, status_code=405)
        return await call_next(request)

    @app.exception_handler(CondganError)
    async def user_error(request: Request, err: CondganError) -> JSONResponse:
        return JSONResponse({"error": str(err)}, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, err: RequestValidationError) -> JSONResponse:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or "request"
        return JSONResponse({"error": f"{where}: {first['msg']}"}, status_code=422)

    @app.get("/", response_class=HTMLResponse)
    async def index() -> str:
        return page

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok", "backend": backend.name}

    @app.get("/api/classes")
    async def classes() -> dict:
        return {"classes": backend.class_names, "conditional": bool(k), "z_dim": backend.z_dim,
                "img_size": backend.img_size, "img_channels": backend.img_channels, "max_n": MAX_N}  # fmt: skip

    @app.get("/api/generate")
    async def generate_images(label: str | None = Query(None, max_length=64, description="class index or name"),
                              n: int = Query(1, ge=1, le=MAX_N), seed: int = Seed) -> Response:  # fmt: skip
        index = label_index(label)
        condition = one_hot([index] * n) if index is not None else None
        return png(await generate(noise(seed, n, backend.z_dim), condition), COLUMNS)

    @app.get("/api/grid")
    async def every_class(n: int = Query(8, ge=1, le=16), seed: int = Seed) -> Response:
        """Same noise, every class: rows are classes, each column one noise vector (one style)."""
        if not k:
            raise CondganError("this generator is unconditional: it has no classes to show")
        z = np.tile(noise(seed, n, backend.z_dim), (k, 1))
        return png(await generate(z, one_hot(np.repeat(np.arange(k), n).tolist())), n)

    @app.get("/api/interpolate")
    async def interpolate(kind: str = Query("class", pattern="^(class|seed)$"),
                          a: str = Query(..., max_length=64, description="class (kind=class) or seed (kind=seed)"),
                          b: str = Query(..., max_length=64), t: float = Query(0.5, ge=0.0, le=1.0),
                          label: str | None = Query(None, max_length=64), seed: int = Seed) -> Response:  # fmt: skip
        """One image at position t between two classes (same noise) or two seeds (same class)."""
        if kind == "class":
            ia, ib = label_index(a), label_index(b)
            z = noise(seed, 1, backend.z_dim)
            condition = (1 - t) * one_hot([ia]) + t * one_hot([ib])
        else:
            sa, sb = (_seed(v, name) for v, name in ((a, "a"), (b, "b")))
            z = slerp(noise(sa, 1, backend.z_dim)[0], noise(sb, 1, backend.z_dim)[0], t)[None].astype(np.float32)
            index = label_index(label)
            condition = one_hot([index]) if index is not None else None
        return png(await generate(z, condition.astype(np.float32) if condition is not None else None), 1)

    return app


def _seed(text: str, name: str) -> int:
    if not text.isdigit() or int(text) > MAX_SEED:
        raise CondganError(f"{name} must be a seed 0..{MAX_SEED} when kind=seed, got {text!r}")
    return int(text)
