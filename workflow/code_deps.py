"""The code each DVC stage runs: its script plus every h2h module it imports, directly or not.

dvc.yaml lists these files as each stage's dependencies, so that a code change reruns exactly the
stages it touches. ``python workflow/code_deps.py --fix`` rewrites those lists after imports
changed; the test suite fails while they are out of date.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

# Plumbing every stage uses that does not change what a stage computes (parameter loading, MLflow
# logging, errors, progress bars, file locks). h2h/core/outputs.py is not plumbing: it writes
# manifests.
PLUMBING = {"h2h/__init__.py", "h2h/core/stage.py", "h2h/core/config.py", "h2h/core/errors.py",
            "h2h/core/progress.py", "h2h/core/tracking.py", "h2h/core/spool.py",
            "h2h/core/locks.py"}
CODE = ("h2h/", "stages/")


def module_file(name: str, root: Path = ROOT) -> Path:
    path = Path(*name.split("."))
    return path / "__init__.py" if (root / path / "__init__.py").exists() else path.with_suffix(".py")


def h2h_imports(path: Path, root: Path = ROOT):
    """Module files of the h2h imports in one source file (function-level ones included)."""
    for node in ast.walk(ast.parse((root / path).read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "h2h":
            yield module_file(node.module, root)
            for alias in node.names:  # "from h2h import gaps" imports a module
                candidate = module_file(f"{node.module}.{alias.name}", root)
                if (root / candidate).exists():
                    yield candidate
        elif isinstance(node, ast.Import):
            yield from (module_file(a.name, root) for a in node.names
                        if a.name.split(".")[0] == "h2h")


def is_docstring_only(path: Path) -> bool:
    """A package ``__init__`` that holds a docstring and nothing else runs no code."""
    body = ast.parse(path.read_text()).body
    return all(isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
               for node in body)


def code_dependencies(script: str, root: Path = ROOT) -> list[str]:
    """The stage script and every h2h module it imports, directly or not, minus plumbing and
    docstring-only package ``__init__`` files."""
    seen, todo = {script}, [Path(script)]
    while todo:
        for module in h2h_imports(todo.pop(), root):
            parents = [str(p / "__init__.py") for p in module.parents if p.parts]
            for name in [str(module), *parents]:
                if name not in seen and (root / name).exists():
                    seen.add(name)
                    todo.append(Path(name))
    thin = {name for name in seen
            if name.endswith("__init__.py") and is_docstring_only(root / name)}
    return [script] + sorted(seen - PLUMBING - thin - {script})


#: The library's phases in pipeline order, by level. A module imports from its own phase and from
#: earlier levels only; phases of one level do not import each other.
PHASE_LEVELS: tuple[tuple[str, ...], ...] = (
    ("core",),
    ("media", "geometry"),
    ("preprocess", "face3d", "nn"),
    ("train", "assets"),
    ("reenact",),
    ("evaluation",),
    ("bench",),
    ("cli",),
)
LEVEL = {phase: level for level, phases in enumerate(PHASE_LEVELS) for phase in phases}


def phase_of(path: Path) -> str:
    """``h2h/face3d/fit.py`` -> ``face3d``; ``h2h/cli.py`` -> ``cli``; ``h2h/__init__.py`` -> ``core``
    (the package's own ``__init__`` holds only its version)."""
    parts = Path(path).parts
    if len(parts) == 2:
        return "core" if parts[1] == "__init__.py" else Path(parts[1]).stem
    return parts[1]


def import_order_violations(root: Path = ROOT) -> list[str]:
    """``module -> imported module`` for every h2h import that points to a later phase or to
    another phase of the same level."""
    problems = []
    for path in sorted((root / "h2h").rglob("*.py")):
        module = path.relative_to(root)
        phase = phase_of(module)
        for imported in h2h_imports(module, root):
            other = phase_of(imported)
            if other != phase and LEVEL[other] >= LEVEL[phase]:
                problems.append(f"{module} ({phase}) imports {imported} ({other})")
    return problems


def stage_bodies(root: Path = ROOT) -> dict[str, dict]:
    stages = yaml.safe_load((root / "dvc.yaml").read_text())["stages"]
    return {name: spec.get("do", spec) for name, spec in stages.items()}


def declared_code(body: dict) -> list[str]:
    return [dep for dep in body["deps"] if dep.startswith(CODE)]


def script_of(body: dict) -> str:
    return body["cmd"].split()[1]


def fix(root: Path = ROOT) -> None:
    """Rewrite each stage's code dependencies in dvc.yaml in place (comments are kept)."""
    text = (root / "dvc.yaml").read_text()
    for name, body in stage_bodies(root).items():
        start = re.search(rf"^  {re.escape(name)}:$", text, flags=re.M).end()
        block = re.compile(r"((?:^ +- (?:h2h|stages)/\S+\n)+)", flags=re.M).search(text, start)
        indent = re.match(r"^( +)-", block.group(1)).group(1)
        lines = "".join(f"{indent}- {dep}\n" for dep in code_dependencies(script_of(body), root))
        text = text[:block.start()] + lines + text[block.end():]
    (root / "dvc.yaml").write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fix", action="store_true", help="rewrite dvc.yaml")
    if parser.parse_args().fix:
        fix()
    stale = [name for name, body in stage_bodies().items()
             if declared_code(body) != code_dependencies(script_of(body))]
    for name in stale:
        print(f"dvc.yaml: stage {name}: code dependencies out of date", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
