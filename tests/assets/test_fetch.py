"""``h2h assets`` through the real download and conversion code, with file:// URLs to files the
tests make, and with the sample data folder linked in place of downloads."""

import os

import pytest

from h2h.assets.catalogue import CANONICAL_FACE, Catalogue, FaceModelAsset, FileAsset
from h2h.assets.fetch import fetch_assets
from h2h.cli import main
from h2h.core.digests import file_digest
from h2h.core.download import Pinned
from h2h.core.errors import H2HError
from h2h.face3d.face_model import load_ict
from h2h.face3d.ict_facekit import convert_facexmodel
from tests.support import facekit
from tests.support.project import SHARED_DATA


def pin(path):
    return Pinned(path.as_uri(), file_digest(path), path.stat().st_size)


@pytest.fixture
def served(tmp_path):
    """A folder of files to fetch by file:// URL: a few-vertex FaceXModel release, a clip and a
    canonical face."""
    folder = tmp_path / "served"
    facekit.make_facekit(folder / "FaceXModel")
    (folder / "clip.mp4").write_bytes(os.urandom(300_000))
    (folder / "canonical.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    return folder


def catalogue_of(served, clip_pin=None):
    release = served / "FaceXModel"
    face_model = FaceModelAsset("face_model/ict_facekit_light.npz", "face_model/FaceXModel",
                                tuple((p.name, pin(p)) for p in sorted(release.iterdir())),
                                "MIT", facekit.LAYOUT)
    canonical = FileAsset("face_model/canonical.obj", pin(served / "canonical.obj"), "here",
                          "Apache-2.0")
    clip = FileAsset("videos/clip.mp4", clip_pin or pin(served / "clip.mp4"), "here", "MIT")
    return Catalogue(face_model, (canonical, clip))


def test_everything_is_downloaded_verified_and_converted(tmp_path, served):
    lines = []
    done = fetch_assets(tmp_path / "assets", None, catalogue_of(served), say=lines.append)
    assert [(d.path, d.how) for d in done] == [
        ("face_model/canonical.obj", "downloaded"), ("videos/clip.mp4", "downloaded"),
        ("face_model/ict_facekit_light.npz", "converted")]
    assets = tmp_path / "assets"
    assert (assets / "videos/clip.mp4").read_bytes() == (served / "clip.mp4").read_bytes()
    reference = convert_facexmodel(served / "FaceXModel", tmp_path / "reference.npz",
                                   facekit.LAYOUT)
    assert (assets / "face_model/ict_facekit_light.npz").read_bytes() == reference.read_bytes()
    assert load_ict(assets / "face_model/ict_facekit_light.npz", "face").mean.shape == (4, 3)
    assert len(lines) == 3 and "converted" in lines[2] and "ict_facekit_light.npz" in lines[2]
    assert not list(assets.rglob(".*partial*"))

    # A rerun needs nothing from the sources: everything is present.
    catalogue = catalogue_of(served)
    for path in sorted(served.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    assert {d.how for d in fetch_assets(assets, None, catalogue)} == {"present"}


def test_a_rerun_downloads_only_what_is_missing(tmp_path, served):
    assets = tmp_path / "assets"
    catalogue = catalogue_of(served)
    fetch_assets(assets, None, catalogue)
    (assets / "face_model/ict_facekit_light.npz").unlink()
    (assets / "face_model/FaceXModel/jawOpen.obj").unlink()
    for path in (served / "FaceXModel").iterdir():  # only the missing file can be had
        if path.name != "jawOpen.obj":
            path.unlink()
    assert [d.how for d in fetch_assets(assets, None, catalogue)][-1] == "converted"


def test_a_wrong_checksum_stops_with_the_file_named_and_nothing_kept(tmp_path, served):
    wrong = Pinned((served / "clip.mp4").as_uri(), "f" * 64, 300_000)
    assets = tmp_path / "assets"
    with pytest.raises(H2HError, match="checksum mismatch") as error:
        fetch_assets(assets, None, catalogue_of(served, wrong))
    assert str(error.value).startswith(f"{assets / 'videos/clip.mp4'}: ")
    assert sorted(p.name for p in (assets / "videos").iterdir()) == []
    assert (assets / "face_model/canonical.obj").is_file()  # fetched before: kept


def test_the_sample_data_folder_is_linked_not_downloaded(tmp_path):
    """The real catalogue: its https URLs are unreachable here, so any download would fail."""
    assets = tmp_path / "assets"
    done = fetch_assets(assets, SHARED_DATA)
    assert {d.how for d in done} == {"linked"} and len(done) == 8
    for item in done:
        link = assets / item.path
        assert link.is_symlink() and link.resolve() == (SHARED_DATA / item.path).resolve()
    assert {d.how for d in fetch_assets(assets, SHARED_DATA)} == {"present"}


def test_a_sample_file_that_is_not_the_published_one_is_refused(tmp_path):
    shared = tmp_path / "shared"
    (shared / "face_model").mkdir(parents=True)
    (shared / CANONICAL_FACE.path).write_text("v 0 0 0\n")
    with pytest.raises(H2HError, match="differs from the published file") as error:
        fetch_assets(tmp_path / "assets", shared)
    assert str(shared / CANONICAL_FACE.path) in str(error.value)
    assert not (tmp_path / "assets" / CANONICAL_FACE.path).exists()


def test_the_command_links_relative_to_the_project(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    shared = os.path.relpath(SHARED_DATA, tmp_path)
    assert main(["assets", "--shared", shared]) == 0
    out = capsys.readouterr().out
    assert "8 files ready in assets (0 fetched now)" in out
    obama = tmp_path / "assets/videos/obama.mov"
    assert not os.readlink(obama).startswith("/")
    assert obama.read_bytes() == (SHARED_DATA / "videos/obama.mov").read_bytes()
