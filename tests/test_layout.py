"""The library's shape: phases import only earlier phases, package ``__init__``s run no code, and
no stage's code reaches the benchmarks or the CLI."""

import ast
import sys

from tests.support.project import ROOT

sys.path.insert(0, str(ROOT / "workflow"))
from code_deps import (  # noqa: E402
    LEVEL,
    code_dependencies,
    import_order_violations,
    phase_of,
    script_of,
    stage_bodies,
)


def test_every_module_belongs_to_a_declared_phase():
    phases = {phase_of(path.relative_to(ROOT)) for path in (ROOT / "h2h").rglob("*.py")}
    assert phases <= set(LEVEL), phases - set(LEVEL)


def test_modules_import_only_from_earlier_phases():
    assert import_order_violations() == []


def test_the_checker_finds_an_import_from_a_later_phase(tmp_path):
    for module, source in {"h2h/__init__.py": "", "h2h/core/__init__.py": "",
                           "h2h/core/errors.py": "from h2h.train.loop import train\n",
                           "h2h/train/__init__.py": "", "h2h/train/loop.py": "",
                           "h2h/nn/__init__.py": "", "h2h/nn/config.py": "",
                           "h2h/preprocess/__init__.py": "",
                           "h2h/preprocess/crop.py": "def f():\n    from h2h.nn import config\n"
                           }.items():
        (tmp_path / module).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / module).write_text(source)
    assert import_order_violations(tmp_path) == [
        "h2h/core/errors.py (core) imports h2h/train/loop.py (train)",
        "h2h/preprocess/crop.py (preprocess) imports h2h/nn/__init__.py (nn)",
        "h2h/preprocess/crop.py (preprocess) imports h2h/nn/config.py (nn)"]


def test_package_inits_hold_only_a_docstring():
    for init in (ROOT / "h2h").rglob("__init__.py"):
        if init.parent == ROOT / "h2h":
            continue  # the package itself: its version
        body = ast.parse(init.read_text()).body
        assert len(body) == 1 and isinstance(body[0], ast.Expr), init


def test_benchmarks_and_the_cli_are_outside_every_stage():
    for name, body in stage_bodies().items():
        deps = code_dependencies(script_of(body))
        assert not [d for d in deps if d.startswith("h2h/bench/") or d == "h2h/cli.py"], name
