import yaml

from h2h.cli import main
from h2h.core.registry import video_id
from tests.support.project import ROOT


def test_a_folder_of_videos_is_registered_keeping_the_comments(tmp_path, sample_videos):
    params = tmp_path / "params.yaml"
    text = (ROOT / "params.yaml").read_text()
    params.write_text(text.replace("assets/videos", str(sample_videos)))
    assert main(["--params", str(params), "add-videos", str(sample_videos), "--pattern",
                 "*_*"]) == 0
    registered = yaml.safe_load(params.read_text())
    videos = registered["videos"]
    assert videos["hdtf_katiehill"] == {"path": str(sample_videos / "hdtf_katiehill.mp4")}
    assert {"hdtf_katiehill", "lp_woman_expressive"} <= set(registered["corpus"])
    assert "lp_woman_expressive" in videos and registered["targets"] == ["obama"]
    assert "lp_woman2_2" not in videos  # already registered: the same file is not added twice
    assert "# Every video the pipeline preprocesses" in params.read_text()
    assert main(["--params", str(params), "add-videos", str(sample_videos), "--pattern",
                 "*_*"]) == 0  # again: nothing new
    assert len(yaml.safe_load(params.read_text())["videos"]) == len(videos)


def test_ids_are_safe():
    from pathlib import Path
    assert video_id(Path("My Clip (1).MP4")) == "My_Clip_1"
