"""Pinned downloads through the real code path (urllib, file:// URLs): verified files are kept,
anything else leaves no file behind."""

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from h2h.core.digests import file_digest
from h2h.core.download import Pinned, download, is_verified
from h2h.core.errors import H2HError
from tests.support.project import ROOT, tool_env

DATA = bytes(range(256)) * 4096  # 1 MiB


def pinned(path, data=DATA):
    return Pinned(path.as_uri(), hashlib.sha256(data).hexdigest(), len(data))


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_a_verified_download_is_kept(tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(DATA)
    dest = tmp_path / "out" / "file.bin"
    assert download(pinned(source), dest) == dest
    assert dest.read_bytes() == DATA
    assert file_digest(dest) == hashlib.sha256(DATA).hexdigest()
    assert is_verified(dest, pinned(source))
    assert leftovers(dest.parent) == []


@pytest.mark.parametrize("wrong,reason", [
    ({"sha256": "0" * 64}, "checksum mismatch"),
    ({"size": len(DATA) + 1}, f"{len(DATA)} bytes, expected {len(DATA) + 1}"),
    ({"size": 1000}, "download too large: more than the 1000 bytes expected"),
])
def test_a_wrong_file_is_not_kept(tmp_path, wrong, reason):
    source = tmp_path / "source.bin"
    source.write_bytes(DATA)
    dest = tmp_path / "out" / "file.bin"
    bad = Pinned(**{**pinned(source).__dict__, **wrong})
    with pytest.raises(H2HError) as error:
        download(bad, dest)
    assert reason in str(error.value) and source.as_uri() in str(error.value)
    assert str(error.value).startswith(f"{dest}: ")
    assert sorted(dest.parent.iterdir()) == []


def test_a_wrong_download_keeps_the_file_it_would_replace(tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(DATA)
    dest = tmp_path / "file.bin"
    dest.write_bytes(b"before")
    with pytest.raises(H2HError, match="checksum mismatch"):
        download(Pinned(source.as_uri(), "0" * 64, len(DATA)), dest)
    assert dest.read_bytes() == b"before"
    assert leftovers(tmp_path) == []


def test_an_unreachable_url_is_named(tmp_path):
    missing = tmp_path / "nowhere.bin"
    with pytest.raises(H2HError, match="download failed") as error:
        download(pinned(missing), tmp_path / "file.bin")
    assert missing.as_uri() in str(error.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_connection_cut_midway_leaves_nothing(tmp_path):
    """The sender stops after half the bytes (a FIFO closed early, as a dropped connection)."""
    fifo = tmp_path / "stream"
    os.mkfifo(fifo)
    dest = tmp_path / "out" / "file.bin"

    def send_half():
        with open(fifo, "wb") as writer:
            writer.write(DATA[: len(DATA) // 2])

    sender = threading.Thread(target=send_half)
    sender.start()
    with pytest.raises(H2HError, match=f"{len(DATA) // 2} bytes, expected {len(DATA)}"):
        download(pinned(fifo), dest)
    sender.join()
    assert sorted(dest.parent.iterdir()) == []


def wait_for(condition, process, timeout=60.0):
    """Poll ``condition`` while ``process`` runs (its stderr is the failure message)."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline and process.poll() is None, process.stderr.read()
        time.sleep(0.05)
    return result


def writing_end(fifo):
    """The FIFO's writing end once a reader has it open (before that, opening it fails)."""
    try:
        return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return None


def start_download(folder):
    """A separate process downloading a FIFO in ``folder`` to ``folder/out/file.bin``: the
    process, the open writing end of the FIFO once half the bytes are in the partial file, the
    partial file and the destination."""
    fifo = folder / "stream"
    os.mkfifo(fifo)
    dest = folder / "out" / "file.bin"
    dest.parent.mkdir()
    # Ctrl-C raises KeyboardInterrupt, as in a terminal (a test runner's worker may pass SIGINT
    # on ignored).
    code = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
            "from h2h.core.download import Pinned, download; "
            "download(Pinned(sys.argv[1], sys.argv[2], int(sys.argv[3])), sys.argv[4])")
    process = subprocess.Popen(
        [sys.executable, "-c", code, fifo.as_uri(), hashlib.sha256(DATA).hexdigest(),
         str(len(DATA)), str(dest)], cwd=ROOT, env=tool_env(), stderr=subprocess.PIPE,
        text=True)
    fd = wait_for(lambda: writing_end(fifo), process)
    os.set_blocking(fd, True)
    writer = os.fdopen(fd, "wb")
    writer.write(DATA[: len(DATA) // 2])
    writer.flush()
    partial = dest.parent / f".{dest.name}.partial-{process.pid}"
    wait_for(lambda: partial.is_file() and partial.stat().st_size == len(DATA) // 2, process)
    return process, writer, partial, dest


def test_an_interrupted_download_leaves_nothing(tmp_path):
    process, writer, _, dest = start_download(tmp_path)
    process.send_signal(signal.SIGINT)  # Ctrl-C
    try:
        process.wait(timeout=60)
    finally:
        process.kill()
        writer.close()
    assert process.returncode != 0 and "KeyboardInterrupt" in process.stderr.read()
    assert sorted(dest.parent.iterdir()) == []


def test_a_killed_download_is_cleared_by_the_next_one(tmp_path):
    process, writer, partial, dest = start_download(tmp_path)
    process.kill()  # no chance to clean up: the partial file stays, the final name never exists
    process.wait(timeout=30)
    writer.close()
    assert partial.is_file() and not dest.exists()
    source = tmp_path / "source.bin"
    source.write_bytes(DATA)
    download(pinned(source), dest)
    assert sorted(p.name for p in dest.parent.iterdir()) == ["file.bin"]
    assert dest.read_bytes() == DATA
