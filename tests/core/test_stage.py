"""The stage runner: a stage sees only the params it declares, must read each of them, and its
output appears only when the work succeeds."""

import pytest
import yaml

from h2h.core.errors import H2HError
from h2h.core.stage import DeclaredParams, run_stage
from tests.support.params import PARAMS


def test_declared_params_give_only_their_sections_and_record_reads():
    params = DeclaredParams(PARAMS, ("crop", "variant_specs.no_eyes"))
    assert params["crop"]["size"] == 256
    assert params["variant_specs"]["no_eyes"] == {"no_eyes": True}
    assert params.unread() == [] and params.as_dict()["variant_specs.no_eyes"] == {"no_eyes": True}
    with pytest.raises(KeyError):
        params["fit"]
    with pytest.raises(KeyError):
        params["variant_specs"]["full"]
    assert DeclaredParams(PARAMS, ("crop", "fit")).unread() == ["crop", "fit"]


@pytest.fixture
def params_file(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(PARAMS))
    return path


def test_a_stage_that_declares_a_section_it_never_reads_is_a_bug(tmp_path, params_file):
    def work(run):
        run.params["crop"]

    with pytest.raises(RuntimeError, match="declares params it does not read: fit"):
        run_stage("crop", "v", tmp_path / "out", work, sections=("crop", "fit"),
                  params_file=params_file, track=False)
    assert not (tmp_path / "out").exists()


def test_a_user_error_leaves_no_output_and_one_line(tmp_path, params_file, capsys):
    def work(run):
        (run.out / "partial.txt").write_text("half")
        raise H2HError("no face", "clip.mp4")

    assert run_stage("crop", "v", tmp_path / "out", work, sections=(), params_file=params_file,
                     track=False) == 1
    assert capsys.readouterr().err == "h2h crop v: error: clip.mp4: no face\n"
    assert not (tmp_path / "out").exists()
