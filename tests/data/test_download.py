"""Downloads from a real HTTP server on 127.0.0.1 that serves ../shared/datasets (the mirror layout)."""

from __future__ import annotations

import http.server
import shutil
import threading
from functools import partial
from pathlib import Path
from typing import ClassVar

import pytest

from condgan.data import DATASETS, load_dataset, locate
from condgan.data.download import download
from condgan.errors import CondganError
from tests.test_cli import assert_user_error, condgan


class Handler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder; /cut/<path> sends the right Content-Length but stops halfway;
    /flaky/<path> fails the first request of each path with a 503."""

    seen: ClassVar[set[str]] = set()
    hits: ClassVar[list[str]] = []

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self.hits.append(self.path)
        if self.path.startswith("/flaky/"):
            if self.path not in self.seen:
                self.seen.add(self.path)
                self.send_error(503, "busy")
                return
            self.path = self.path[len("/flaky") :]
        if self.path.startswith("/cut/"):
            file = Path(self.directory) / self.path[len("/cut/") :]
            data = file.read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()


@pytest.fixture()
def mirror(tmp_path, shared_datasets):
    """A loopback server over a copy of ../shared/datasets (so tests may corrupt files)."""
    root = tmp_path / "mirror"
    shutil.copytree(shared_datasets, root)
    Handler.seen, Handler.hits = set(), []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture()
def online(monkeypatch, tmp_path):
    monkeypatch.delenv("CONDGAN_OFFLINE")
    monkeypatch.setattr("condgan.data.SYSTEM_DIR", tmp_path / "no-system-dir")  # look only where the test says
    return tmp_path / "store"


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


def test_download_then_load_from_the_mirror(mirror, online, monkeypatch):
    _, url = mirror
    monkeypatch.setenv("CONDGAN_MIRROR", url)
    data = load_dataset("fashion-mnist", "test", online)
    assert len(data) == 10000 and data.class_names[0] == "t-shirt"
    assert leftovers(online) == ["fashion-mnist", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    assert Handler.hits == ["/fashion-mnist/t10k-images-idx3-ubyte.gz", "/fashion-mnist/t10k-labels-idx1-ubyte.gz"]
    load_dataset("fashion-mnist", "test", online)  # second time: found, not fetched
    assert len(Handler.hits) == 2


def test_a_corrupted_file_is_refused_naming_file_and_checksums(mirror, online, monkeypatch):
    root, url = mirror
    monkeypatch.setenv("CONDGAN_MIRROR", url)
    import gzip

    labels = root / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz"
    content = bytearray(gzip.decompress(labels.read_bytes()))
    content[100] ^= 1  # one label flipped: a valid gzip of the wrong content
    labels.write_bytes(gzip.compress(bytes(content)))
    info = DATASETS.get("fashion-mnist")
    with pytest.raises(CondganError) as err:
        locate(info, info.layout.files_for("test")[1], online, progress=False)
    message = str(err.value)
    assert "t10k-labels-idx1-ubyte.gz from http://127.0.0.1" in message
    assert "expected content md5 bb300cfdad3c16e7a12a480ee83cd310" not in message  # (the .gz md5 is not used)
    assert "expected content md5 15d484375f8d13e6eb1aabb0c3f46965, got " in message
    assert leftovers(online) == ["fashion-mnist"]  # nothing under the real name, no temp file


def test_a_truncated_file_is_refused(mirror, online, monkeypatch):
    root, url = mirror
    monkeypatch.setenv("CONDGAN_MIRROR", url)
    images = root / "fashion-mnist" / "t10k-images-idx3-ubyte.gz"
    images.write_bytes(images.read_bytes()[:100_000])
    info = DATASETS.get("fashion-mnist")
    with pytest.raises(
        CondganError,
        match=r"t10k-images-idx3-ubyte.gz from http://127.0.0.1:\d+/fashion-mnist/"
        r"t10k-images-idx3-ubyte.gz is corrupt or truncated",
    ):
        locate(info, info.layout.files_for("test")[0], online, progress=False)
    assert leftovers(online) == ["fashion-mnist"]


def test_a_server_that_stops_mid_transfer_is_retried_then_refused(mirror, online):
    _, url = mirror
    file = DATASETS.get("mnist").layout.files_for("test")[1]
    dest = online / "mnist" / file.name
    with pytest.raises(
        CondganError,
        match=r"cannot download .*/cut/mnist/t10k-labels-idx1-ubyte.gz after 3 attempts: "
        r"the server sent \d+ of \d+ bytes",
    ):
        download(f"{url}/cut/mnist/{file.name}", dest, file, progress=False, backoff_s=0.01)
    assert Handler.hits.count(f"/cut/mnist/{file.name}") == 3
    assert leftovers(online) == ["mnist"]  # no partial file


def test_a_passing_failure_is_retried(mirror, online):
    _, url = mirror
    file = DATASETS.get("mnist").layout.files_for("test")[1]
    path = download(
        f"{url}/flaky/mnist/{file.name}", online / "mnist" / file.name, file, progress=False, backoff_s=0.01
    )
    assert path.is_file() and Handler.hits == [f"/flaky/mnist/{file.name}"] * 2


def test_a_missing_file_is_not_retried(mirror, online):
    _, url = mirror
    file = DATASETS.get("kmnist").layout.files_for("test")[0]
    with pytest.raises(CondganError, match=r"cannot download .*kmnist/t10k-images-idx3-ubyte.gz: HTTP 404"):
        download(f"{url}/kmnist/{file.name}", online / file.name, file, progress=False)
    assert len(Handler.hits) == 1


def test_data_commands_download_and_verify(mirror, tmp_path, shared_datasets):
    _, url = mirror
    store = tmp_path / "cli-store"
    env = {"CONDGAN_MIRROR": url, "CONDGAN_OFFLINE": "", "CONDGAN_SYSTEM_DATA_DIR": str(tmp_path / "none")}
    result = condgan("data", "download", "fashion-mnist", "--data-dir", store, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("ok  ") == 4
    result = condgan("data", "verify", "fashion-mnist", "--data-dir", store, env=env)
    assert result.returncode == 0 and "content md5 f4a8712d7a061bf5bd6d2ca38dc4d50a" in result.stdout
    (store / "fashion-mnist" / "train-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b garbage")
    assert_user_error(condgan("data", "verify", "fashion-mnist", "--data-dir", store, env=env), "corrupt or truncated")
    listing = condgan("data", "list", "--data-dir", shared_datasets).stdout
    assert "cifar100" in listing and "emnist-letters" in listing and str(shared_datasets / "mnist") in listing
