"""Where each third-party file comes from: a public URL at a fixed commit, its size and SHA-256.

The layout inside the assets folder is that of the sample data folder (``face_model/``,
``videos/``), so params.yaml names the same relative paths under either. The checksums of the
sample clips and the canonical face are those of the files as their repositories publish them;
those of ICT-FaceKit's release files are in ``facexmodel.sha256`` beside this module (SHA-256,
size and path of each file the conversion reads).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from h2h.core.download import Pinned
from h2h.face3d.ict_facekit import ICT_COMMIT, ICT_LAYOUT, Layout

FACEXMODEL_SHA256 = Path(__file__).with_name("facexmodel.sha256")
FACEXMODEL_URL = f"https://raw.githubusercontent.com/ICT-VGL/ICT-FaceKit/{ICT_COMMIT}/"


@dataclass(frozen=True)
class FileAsset:
    """A file used exactly as published."""

    path: str  # inside the assets folder
    pinned: Pinned
    origin: str  # repository @ commit : path
    licence: str


@dataclass(frozen=True)
class FaceModelAsset:
    """The face model file, converted by h2h from ICT-FaceKit's release files (kept in
    ``sources`` inside the assets folder, so a rerun downloads only what is missing)."""

    path: str
    sources: str
    files: tuple[tuple[str, Pinned], ...]  # file name in ``sources`` -> where it comes from
    licence: str
    layout: Layout = ICT_LAYOUT

    @property
    def size(self) -> int:
        """Bytes to download."""
        return sum(pinned.size for _, pinned in self.files)


@dataclass(frozen=True)
class Catalogue:
    """Everything ``h2h assets`` provides."""

    face_model: FaceModelAsset
    files: tuple[FileAsset, ...]


def read_checksums(path: str | Path, base_url: str) -> tuple[tuple[str, Pinned], ...]:
    """``sha256  size  folder/name`` lines -> (name, pinned file at ``base_url`` + path)."""
    entries = []
    for line in Path(path).read_text().splitlines():
        digest, size, relative = line.split()
        entries.append((Path(relative).name, Pinned(base_url + relative, digest, int(size))))
    return tuple(entries)


def github_file(repo: str, commit: str, path: str, sha256: str, size: int, licence: str,
                destination: str, lfs: bool = False) -> FileAsset:
    """A file of a public GitHub repository at ``commit``; ``lfs`` for files kept in Git LFS,
    which GitHub serves from its media host (the raw host gives only their pointer)."""
    host = ("https://media.githubusercontent.com/media" if lfs
            else "https://raw.githubusercontent.com")
    return FileAsset(destination, Pinned(f"{host}/{repo}/{commit}/{path}", sha256, size),
                     f"{repo} @ {commit[:12]} : {path}", licence)


LIA = ("wyhsirius/LIA", "b9f15fb70a3b7704576491ef8f4fd6fc4ad557d9")
DPE = ("OpenTalker/DPE", "76a86c40132422929b98e26a366969f12ee66260")
LIVE_PORTRAIT = ("KwaiVGI/LivePortrait", "a272d74e704cf978c2137e20fe09727477186f2e")
SAD_TALKER = ("OpenTalker/SadTalker", "cd4c0465ae0b54a6f85af57f5c65fec9fe23e7f8")
MEDIAPIPE = ("google/mediapipe", "9d8807788567c01dbd998c0a3d0f730b9686912d")

CLIPS: tuple[FileAsset, ...] = (
    github_file(*LIA, "data/vox/obama.mov",
                "c68cae1c963f30abe879e05e493e9402df74e4269fb53616e2694472276a52d4", 1344180,
                "CC BY-NC 4.0", "videos/obama.mov"),
    github_file(*DPE, "data/d.mp4",
                "9f31554130746a31c2cd7b399e3d9a25de8d0f4d2e463d8e9915b69b971d38f2", 736241,
                "MIT", "videos/dpe_man.mp4"),
    github_file(*DPE, "data/s.mp4",
                "a0c4ab09c48b2fc99f507ffb5d95c4c0fb6462600bdc008e820b9fac2ed67008", 270975,
                "MIT", "videos/dpe_man2.mp4"),
    github_file(*LIVE_PORTRAIT, "assets/examples/driving/d6.mp4",
                "00e3ea79bbf28cbdc4fbb67ec655d9a0fe876e880ec45af55ae481348d0c0fff", 1967790,
                "MIT", "videos/lp_woman_expressive.mp4", lfs=True),
    github_file(*LIVE_PORTRAIT, "assets/examples/driving/d3.mp4",
                "ef5c86e49b1b43dcb1449b499eb5a7f0cbae2f78aec08b5598193be1e4257099", 1430968,
                "MIT", "videos/lp_woman2.mp4", lfs=True),
    github_file(*SAD_TALKER, "examples/ref_video/WDA_KatieHill_000.mp4",
                "1fbb4cfd64eedc49b170c441714a9c4fd5e2c2f8a11592070ad89fbd257f2817", 3548230,
                "Apache-2.0", "videos/hdtf_katiehill.mp4"),
)

CANONICAL_FACE = github_file(
    *MEDIAPIPE, "mediapipe/modules/face_geometry/data/canonical_face_model.obj",
    "8bac80443397e113f41a8b565ea72c59390bc031d9defab289dba7bc0c54e618", 45999, "Apache-2.0",
    "face_model/mediapipe_canonical_face_model.obj")

FACE_MODEL = FaceModelAsset(
    "face_model/ict_facekit_light.npz", "face_model/FaceXModel",
    read_checksums(FACEXMODEL_SHA256, FACEXMODEL_URL), "MIT")

CATALOGUE = Catalogue(FACE_MODEL, (CANONICAL_FACE, *CLIPS))
