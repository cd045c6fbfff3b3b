import pytest
import yaml

from h2h.core.errors import H2HError
from h2h.core.inputs import check_raw_inputs, raw_inputs
from tests.support.project import ROOT


def test_a_missing_raw_input_names_the_command_that_gets_it(tmp_path):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    inputs = raw_inputs(params, tmp_path)
    assert inputs[:2] == [tmp_path / "assets/face_model/ict_facekit_light.npz",
                          tmp_path / "assets/face_model/mediapipe_canonical_face_model.obj"]
    assert tmp_path / "assets/videos/obama.mov" in inputs
    for path in inputs[:-1]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    with pytest.raises(H2HError, match="`h2h assets` gets the face model") as error:
        check_raw_inputs(params, tmp_path)
    assert str(error.value).startswith(f"{inputs[-1]}: file not found")
    inputs[-1].write_bytes(b"x")
    check_raw_inputs(params, tmp_path)
