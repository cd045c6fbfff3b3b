import yaml

from h2h.cli import main
from h2h.registry import video_id
from tests.conftest import ROOT


def test_a_folder_of_videos_is_registered_keeping_the_comments(tmp_path, sample_videos):
    params = tmp_path / "params.yaml"
    params.write_text((ROOT / "params.yaml").read_text())
    assert main(["--params", str(params), "add-videos", str(sample_videos), "--pattern",
                 "lp_*"]) == 0
    videos = yaml.safe_load(params.read_text())["videos"]
    assert videos["lp_woman2"] == {"path": str(sample_videos / "lp_woman2.mp4"), "role": "corpus"}
    assert "lp_woman_expressive" in videos and "obama" in videos
    assert "# Every video the pipeline preprocesses" in params.read_text()
    assert main(["--params", str(params), "add-videos", str(sample_videos), "--pattern",
                 "lp_*"]) == 0  # again: nothing new
    assert len(yaml.safe_load(params.read_text())["videos"]) == len(videos)


def test_ids_are_safe():
    from pathlib import Path
    assert video_id(Path("My Clip (1).MP4")) == "My_Clip_1"
