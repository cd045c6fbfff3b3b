"""dvc.yaml names exactly the code each stage runs (so a code change reruns exactly the stages
it touches): the script and every h2h module it imports."""

import ast
import re
import sys

import pytest

from tests.support.project import ROOT

sys.path.insert(0, str(ROOT / "workflow"))
from code_deps import code_dependencies, declared_code, script_of, stage_bodies  # noqa: E402

STAGES = stage_bodies()


@pytest.mark.parametrize("name", list(STAGES))
def test_each_stage_depends_on_exactly_the_code_it_runs(name):
    body = STAGES[name]
    expected = code_dependencies(script_of(body))
    assert declared_code(body) == expected, (
        f"{name}: run `python workflow/code_deps.py --fix` (expected {expected})")


def test_the_closure_follows_indirect_imports():
    deps = code_dependencies("stages/nmfc.py")
    # nmfc imports h2h.face3d.nmfc, which imports h2h.geometry.camera, which imports h2h.geometry.rotations.
    assert {"h2h/face3d/nmfc.py", "h2h/geometry/camera.py", "h2h/geometry/rotations.py"} <= set(deps)
    assert "h2h/core/tracking.py" not in deps and deps[0] == "stages/nmfc.py"


def declared_sections(script: str) -> list[str]:
    """The ``sections=`` of a stage script's ``run_stage`` call, an f-string's fields as ``*``."""
    for node in ast.walk(ast.parse((ROOT / script).read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "run_stage":
            [sections] = [k.value for k in node.keywords if k.arg == "sections"]
            return [element.value if isinstance(element, ast.Constant) else "".join(
                part.value if isinstance(part, ast.Constant) else "*" for part in element.values)
                for element in sections.elts]
    raise AssertionError(f"{script} does not call run_stage")


@pytest.mark.parametrize("name", list(STAGES))
def test_each_stage_depends_on_exactly_the_params_it_reads(name):
    """The stage runner lets a stage read only the sections it declares and fails when it
    does not read one of them; dvc.yaml must list the same."""
    body = STAGES[name]
    listed = [re.sub(r"\$\{[^}]+\}", "*", entry) for entry in body.get("params", [])]
    assert listed == declared_sections(script_of(body)), name
