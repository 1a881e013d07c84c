"""Checksummed downloads: temp file + atomic rename, retries, a progress bar.

A file is fetched into a temporary file beside its destination, its length and checksum
are checked, and only then is it renamed into place: an interrupted, truncated or corrupt
transfer never leaves a file under the real name. Network failures are retried with
backoff; a wrong checksum is not (the server would send the same bytes again).
"""

from __future__ import annotations

import http.client
import os
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from condgan.data.formats import DataFile, verify
from condgan.errors import CondganError
from condgan.progress import bar as progress_bar

RETRIES = 3
TIMEOUT_S = 30.0
CHUNK = 1 << 16


class TransferError(Exception):
    """A transfer that did not deliver the whole file (worth retrying)."""


def _fetch_once(url: str, tmp: Path, progress: bool) -> None:
    with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, tmp.open("wb") as out:
        total = response.headers.get("Content-Length")
        expected = int(total) if total is not None else None
        received = 0
        with progress_bar(expected, Path(url).name, "B", show=progress, unit_scale=True) as bar:
            while chunk := response.read(CHUNK):
                out.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    if expected is not None and received != expected:
        raise TransferError(f"the server sent {received} of {expected} bytes")


def download(
    url: str, dest: Path, data_file: DataFile, *, retries: int = RETRIES, progress: bool = True, backoff_s: float = 1.0
) -> Path:
    """Fetch `url` to `dest` (atomically) and check it against `data_file`'s checksum."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    os.close(fd)
    tmp = Path(name)
    try:
        for attempt in range(1, retries + 1):
            try:
                _fetch_once(url, tmp, progress)
                break
            except urllib.error.HTTPError as err:
                if err.code < 500:  # 404 and friends: asking again will not help
                    raise CondganError(f"cannot download {url}: HTTP {err.code} {err.reason}") from None
                problem = f"HTTP {err.code} {err.reason}"
            except (urllib.error.URLError, TransferError, http.client.HTTPException, OSError) as err:
                problem = str(getattr(err, "reason", None) or err) or type(err).__name__
            if attempt == retries:
                raise CondganError(f"cannot download {url} after {retries} attempts: {problem}")
            time.sleep(backoff_s * attempt)
        verify(tmp, data_file, label=f"{dest.name} from {url}")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest
