"""The HTTP API and the demo page (docs/architecture.md: GET /, /api/classes, /api/generate, /healthz;
POST /api/translate for image-to-image generators).

Every parameter is validated (4xx with a JSON {"error": ...}); generation runs in worker
threads, at most `max_concurrent` at a time; nothing from a request touches the file system.
Noise comes from condgan.noise (a pure function of the seed): both backends and `condgan sample`
draw the same images.
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
from condgan.images import fit_image, hwc, make_grid, quantize_array
from condgan.labels import label_for
from condgan.noise import check_truncation, lerp, noise, slerp
from condgan.serve.backends import Backend

MAX_N = 256
MAX_SEED = 2**32 - 1
MAX_URL = 2048  # a longer request line is refused before any work
MAX_UPLOAD = 4 * 2**20  # bytes of an image POSTed to /api/translate
MAX_UPLOAD_PIXELS = 4096 * 4096  # its decoded size, checked from the header before decoding
COLUMNS = 8
MAX_ATTRS = 512  # characters of an attrs query: every factor of emoji-people named with its longest value
Seed = Query(0, ge=0, le=MAX_SEED, description="noise seed: same seed, same images")
Truncation = Query(
    None, ge=0.0, le=10.0, description="biggan: the z threshold; stylegan: psi in [0, 1] (1: none); default none"
)


# what the page's truncation slider offers, by the generator's kind of truncation
TRUNCATION_RANGES = {
    "z": {"kind": "threshold", "min": 0.1, "max": 3.0, "step": 0.05, "none": None},
    "w": {"kind": "psi", "min": 0.0, "max": 1.0, "step": 0.05, "none": 1.0},
}


def png(images: np.ndarray, ncol: int) -> Response:
    """(N, C, H, W) in [-1, 1] -> a PNG grid response."""
    grid = make_grid(hwc(quantize_array(images)), ncol=max(1, min(ncol, len(images))))
    buffer = io.BytesIO()
    Image.fromarray(grid).save(buffer, format="PNG")
    return Response(buffer.getvalue(), media_type="image/png", headers={"Cache-Control": "no-store"})


class Generation:
    """The backend behind a bounded number of worker threads, and the request -> condition rules."""

    def __init__(self, backend: Backend, max_concurrent: int) -> None:
        self.backend, self.k = backend, len(backend.class_names)
        self.slots = asyncio.Semaphore(max_concurrent)

    def one_hot(self, labels: list[int]) -> np.ndarray | None:
        return np.eye(self.k, dtype=np.float32)[labels] if self.k else None

    def label_index(self, label: str | None) -> int | None:
        if self.backend.in_channels:
            raise CondganError("this generator translates images: POST an image to /api/translate")
        if self.backend.factors is not None:
            names = ", ".join(self.backend.factors.factor_names)
            raise CondganError(f"this generator takes attrs (factors: {names}), e.g. attrs=NAME=VALUE,NAME=VALUE")
        return label_for(
            label,
            self.backend.class_names,
            refuse="this generator is unconditional: it takes no label",
            require=f"label is required: a class index 0..{self.k - 1} or a name",
        )

    def condition(self, label: str | None, attrs: str | None, n: int = 1) -> np.ndarray | None:
        """(n, K) condition rows for a request: a class (label) or, for a several-factor run, attrs."""
        spec = self.backend.factors
        if spec is None:
            if attrs is not None:
                raise CondganError("this generator takes a class (label), not attrs")
            index = self.label_index(label)
            return self.one_hot([index] * n) if index is not None else None
        if label is not None:
            self.label_index(label)  # the one-line refusal
        if attrs is None:
            example = ",".join(f"{f.name}={f.default or f.values[0]}" for f in spec.factors)
            raise CondganError(f"attrs is required, e.g. attrs={example}")
        return np.repeat(spec.encode(spec.parse(attrs)[None]), n, axis=0)

    def noise(self, n: int, seed: int, truncation: float | None = None) -> np.ndarray:
        """The seed's noise, truncated where the generator's truncation acts on z (BigGAN)."""
        check_truncation(self.backend.truncation, truncation)
        return noise(n, self.backend.z_dim, seed, truncation if self.backend.truncation == "z" else None)

    async def __call__(
        self, z: np.ndarray, condition: np.ndarray | None, truncation: float | None = None
    ) -> np.ndarray:
        psi = truncation if self.backend.truncation == "w" else None  # BigGAN's acted on z already
        async with self.slots:
            return await run_in_threadpool(self.backend, z, condition, psi)

    async def translate(
        self, inputs: np.ndarray, backend: Backend | None = None, attributes: np.ndarray | None = None
    ) -> np.ndarray:
        async with self.slots:
            return await run_in_threadpool((backend or self.backend).translate, inputs, attributes)


def _install_guards(app: FastAPI) -> None:
    """Bounded requests, and every user error as a JSON 4xx."""

    @app.middleware("http")
    async def bounded_requests(request: Request, call_next):
        if len(str(request.url)) > MAX_URL:
            return JSONResponse({"error": f"request URL longer than {MAX_URL} characters"}, status_code=414)
        post = request.url.path == "/api/translate"
        if request.method not in (("POST",) if post else ("GET", "HEAD")):
            allowed = "POST" if post else "GET"
            return JSONResponse({"error": f"only {allowed} requests are served here"}, status_code=405)
        return await call_next(request)

    @app.exception_handler(CondganError)
    async def user_error(request: Request, err: CondganError) -> JSONResponse:
        return JSONResponse({"error": str(err)}, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, err: RequestValidationError) -> JSONResponse:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or "request"
        return JSONResponse({"error": f"{where}: {first['msg']}"}, status_code=422)


def _add_info_routes(app: FastAPI, backend: Backend) -> None:
    page = (resources.files("condgan.serve") / "static" / "index.html").read_text()

    @app.get("/", response_class=HTMLResponse)
    async def index() -> str:
        return page

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok", "backend": backend.name}

    @app.get("/api/classes")
    async def classes() -> dict:
        factors = backend.factors.to_json()["factors"] if backend.factors is not None else []
        return {
            "classes": [] if factors else backend.class_names,  # a several-factor run: its factors instead
            "factors": factors,
            "conditional": bool(backend.class_names),
            "z_dim": backend.z_dim,
            "img_size": backend.img_size,
            "img_channels": backend.img_channels,
            "in_channels": backend.in_channels,
            "in_size": backend.in_size if backend.in_channels else 0,
            "label_classes": backend.label_names,  # a translator that takes the image's class too
            # a StarGAN editor: the factors `attrs` may change (a factor left out is kept)
            "edit_factors": backend.edits.to_json()["factors"] if backend.edits is not None else [],
            "image_input": bool(backend.in_channels),
            "directions": list(backend.directions) if backend.in_channels else [],
            "max_n": MAX_N,
            "max_upload": MAX_UPLOAD,
            # biggan: a threshold on z (none: off); stylegan: psi (1: none); others: null
            "truncation": TRUNCATION_RANGES.get(backend.truncation),
        }


def _add_image_routes(app: FastAPI, gen: Generation) -> None:
    @app.get("/api/generate")
    async def generate_images(
        label: str | None = Query(None, max_length=64, description="class index or name"),
        attrs: str | None = Query(None, max_length=MAX_ATTRS, description="several-factor runs: NAME=VALUE,..."),
        n: int = Query(1, ge=1, le=MAX_N),
        seed: int = Seed,
        truncation: float | None = Truncation,
    ) -> Response:
        z = gen.noise(n, seed, truncation)
        return png(await gen(z, gen.condition(label, attrs, n), truncation), COLUMNS)

    @app.get("/api/grid")
    async def every_class(
        n: int = Query(8, ge=1, le=16), seed: int = Seed, truncation: float | None = Truncation
    ) -> Response:
        """Same noise, every class: rows are classes, each column one noise vector (one style)."""
        if gen.backend.in_channels:
            raise CondganError("this generator translates images: POST an image to /api/translate")
        if not gen.k:
            raise CondganError("this generator is unconditional: it has no classes to show")
        spec = gen.backend.factors
        if spec is not None:  # the picture of condgan sample: two factors as rows x columns, one noise per row
            codes, per_row = spec.grid_codes()
            if per_row > 1:
                z = np.repeat(gen.noise(len(codes) // per_row, seed, truncation), per_row, axis=0)
                return png(await gen(z, spec.encode(codes), truncation), per_row)
            z = np.tile(gen.noise(n, seed, truncation), (len(codes), 1))
            return png(await gen(z, spec.encode(np.repeat(codes, n, axis=0)), truncation), n)
        z = np.tile(gen.noise(n, seed, truncation), (gen.k, 1))
        return png(await gen(z, gen.one_hot(np.repeat(np.arange(gen.k), n).tolist()), truncation), n)

    @app.get("/api/interpolate")
    async def interpolate(
        kind: str = Query("class", pattern="^(class|seed)$"),
        a: str = Query(..., max_length=MAX_ATTRS, description="class or attrs (kind=class), or seed (kind=seed)"),
        b: str = Query(..., max_length=MAX_ATTRS),
        t: float = Query(0.5, ge=0.0, le=1.0),
        label: str | None = Query(None, max_length=64),
        attrs: str | None = Query(None, max_length=MAX_ATTRS),
        seed: int = Seed,
        truncation: float | None = Truncation,
    ) -> Response:
        """One image at position t between two classes or attribute sets (same noise) or two seeds (same condition)."""
        if kind == "class":
            z = gen.noise(1, seed, truncation)
            factors = gen.backend.factors is not None
            ends = [gen.condition(None, v) if factors else gen.condition(v, None) for v in (a, b)]
            condition = lerp(ends[0], ends[1], t)
        else:
            sa, sb = (_seed(v, name) for v, name in ((a, "a"), (b, "b")))
            z = slerp(gen.noise(1, sa, truncation)[0], gen.noise(1, sb, truncation)[0], t)[None]
            condition = gen.condition(label, attrs)
        return png(await gen(z, condition, truncation), 1)


async def _upload(request: Request) -> bytes:
    """The request body, refused past MAX_UPLOAD bytes (by its header, or while it streams in)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_UPLOAD):
        raise _TooLarge()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_UPLOAD:
            raise _TooLarge()
    if not body:
        raise CondganError("POST the image file as the request body (PNG, JPEG, ...)")
    return bytes(body)


class _TooLarge(Exception):
    pass


def decode_input(data: bytes, backend: Backend, resize: bool) -> np.ndarray:
    """An uploaded image -> G's input (1, C_in, S, S) in [-1, 1]; another size only with resize."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_UPLOAD_PIXELS:
                raise CondganError(f"the image is {img.width}x{img.height}: at most {MAX_UPLOAD_PIXELS:,} pixels")
            hint = "resize=true to fit"
            array = fit_image(img, backend.in_size, backend.in_channels, "the image", resize, hint, backend.background)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise CondganError(f"the upload is not an image Pillow can read ({str(err).splitlines()[0]})") from None
    return (array.astype(np.float32) / 127.5 - 1.0)[None]


def _add_translate_route(app: FastAPI, gen: Generation) -> None:
    @app.post("/api/translate")
    async def translate_image(
        request: Request,
        resize: bool = Query(False),
        label: str | None = Query(None, max_length=64, description="the image's class (model.with_label runs)"),
        direction: str = Query("AtoB", max_length=8, description="a CycleGAN run: AtoB or BtoA"),
        attrs: str | None = Query(None, max_length=MAX_ATTRS, description="a StarGAN run: the attributes to change"),
    ) -> Response:
        """The POSTed image (the request body) translated by an image-to-image generator, as a PNG."""
        if not gen.backend.in_channels:
            raise CondganError("this generator samples images of a class: use GET /api/generate")
        ways = gen.backend.directions
        if direction not in ways:
            valid = " or ".join(ways)
            raise CondganError(f"direction must be {valid} (this generator translates {valid}), got {direction!r}")
        backend = ways[direction]
        if backend.edits is not None:  # checked before the upload is read
            if attrs is None:
                names = ", ".join(backend.edits.factor_names)
                raise CondganError(f"attrs is required: the attributes to change, NAME=VALUE,... ({names})")
            vector = backend.edits.edit(attrs)[None]
        elif attrs is not None:
            raise CondganError("attrs names the target attributes of a StarGAN editor; this generator translates alone")
        classes = backend.label_names
        index = label_for(  # checked before the upload is read
            label,
            classes,
            refuse="this generator takes no label: it translates the image alone",
            require=f"label is required: the image's class, 0..{len(classes) - 1} or a name",
        )
        try:
            data = await _upload(request)
        except _TooLarge:
            return JSONResponse({"error": f"upload larger than {MAX_UPLOAD:,} bytes"}, status_code=413)
        x = decode_input(data, backend, resize)
        if backend.edits is not None:
            return png(await gen.translate(x, backend, vector), 1)
        if index is not None:  # the class as one-hot constant maps after the image (with_label_maps' layout)
            maps = np.zeros((1, len(classes), *x.shape[-2:]), np.float32)
            maps[0, index] = 1.0
            x = np.concatenate([x, maps], axis=1)
        return png(await gen.translate(x, backend), 1)


def create_app(backend: Backend, max_concurrent: int = 2) -> FastAPI:
    app = FastAPI(title="condgan", docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    _install_guards(app)
    _add_info_routes(app, backend)
    gen = Generation(backend, max_concurrent)
    _add_image_routes(app, gen)
    _add_translate_route(app, gen)
    return app


def _seed(text: str, name: str) -> int:
    if not text.isdigit() or int(text) > MAX_SEED:
        raise CondganError(f"{name} must be a seed 0..{MAX_SEED} when kind=seed, got {text!r}")
    return int(text)
