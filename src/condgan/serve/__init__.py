"""`condgan serve`: the HTTP API and demo page (the [serve] extra: FastAPI + uvicorn)."""
