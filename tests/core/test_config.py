import pytest
import yaml

from h2h.core.config import load_params
from h2h.core.errors import H2HError
from tests.support.project import ROOT


@pytest.fixture
def params_file(tmp_path):
    def write(change):
        params = yaml.safe_load((ROOT / "params.yaml").read_text())
        change(params)
        path = tmp_path / "params.yaml"
        path.write_text(yaml.safe_dump(params))
        return path
    return write


def test_the_sample_configuration_is_valid():
    params = load_params(ROOT / "params.yaml")
    assert params["crop"]["size"] == 256 and "obama" in params["videos"]


@pytest.mark.parametrize("change,message", [
    (lambda p: p["crop"].update(size=-1), "invalid parameter crop.size"),
    (lambda p: p["videos"]["obama"].update(role="star"),
     r"invalid parameter videos.obama: .*'role' was unexpected"),
    (lambda p: p["corpus"].append("nobody"), "corpus: 'nobody' is not a video id"),
    (lambda p: p["finetune"]["options"].pop("lr"), "'lr' is a required property"),
    (lambda p: p.pop("fit"), "'fit' is a required property"),
    (lambda p: p["reenactments"]["obama_self"].update(source="dpe_man"),
     "self reenactment needs source == target"),
    (lambda p: p["reenactments"]["obama_by_dpe_man_head"].update(source="nobody"),
     "reenactments.obama_by_dpe_man_head.source: 'nobody' is not a video id"),
])
def test_invalid_parameters_are_named(params_file, change, message):
    path = params_file(change)
    with pytest.raises(H2HError, match=message) as error:
        load_params(path)
    assert str(path) in str(error.value)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(H2HError, match="parameter file not found"):
        load_params(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("videos: [unclosed")
    with pytest.raises(H2HError, match="not valid YAML"):
        load_params(tmp_path / "bad.yaml")
