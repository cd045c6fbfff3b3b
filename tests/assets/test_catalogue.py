"""The pins of the catalogue are those of the real files: the sample data here and the SHA-256
list of ICT-FaceKit's release."""

import re

from h2h.assets.catalogue import CATALOGUE, CLIPS, FACE_MODEL
from h2h.core.download import is_verified
from h2h.face3d.ict_facekit import ICT_COMMIT, read_vertex_indices, required_files
from tests.support.project import SHARED_DATA

FACEKIT = SHARED_DATA / "face_model" / "ict_facekit_subset"
COMMIT_URL = re.compile(r"^https://(raw|media)\.githubusercontent\.com/(media/)?[\w.-]+/[\w.-]+/"
                        r"[0-9a-f]{40}/")


def test_every_file_is_pinned_to_the_sample_data():
    assert sorted(asset.path for asset in CLIPS) == sorted(
        f"videos/{path.name}" for path in (SHARED_DATA / "videos").iterdir())
    for asset in CATALOGUE.files:
        assert is_verified(SHARED_DATA / asset.path, asset.pinned), asset.path
        assert COMMIT_URL.match(asset.pinned.url), asset.pinned.url


def test_the_face_model_sources_are_the_release_files_the_conversion_reads():
    published = {line.split()[2].removeprefix("FaceXModel/"): line
                 for line in (FACEKIT / "FaceXModel.sha256").read_text().splitlines()}
    assert len(published) == 160
    files = dict(FACE_MODEL.files)
    assert sorted(files) == sorted(required_files(read_vertex_indices(FACEKIT)))
    for name, pinned in files.items():
        assert published[name].split() == [pinned.sha256, str(pinned.size), f"FaceXModel/{name}"]
        assert pinned.url == (f"https://raw.githubusercontent.com/ICT-VGL/ICT-FaceKit/"
                              f"{ICT_COMMIT}/FaceXModel/{name}")
    for name in ("generic_neutral_mesh.obj", "identity000.obj", "jawOpen.obj",
                 "vertex_indices.json"):  # the release files there are here
        assert is_verified(FACEKIT / name, files[name]), name
    assert FACE_MODEL.size == 394_461_711
