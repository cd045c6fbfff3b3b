"""Snakemake rules derived from dvc.yaml, so both tools run the same commands over the same files.

dvc.yaml is the one declaration of the pipeline. Each Snakemake rule asks this module for its
input, output, params and shell command, translated from DVC's templating:

- ``foreach`` over a mapping (``${videos}``): ``${key}`` becomes the wildcard named after the
  collection in the singular (``{video}``); ``${item.<field>}`` is looked up in the config for
  the current key (e.g. a raw video's path, or a reenactment's target).
- ``foreach`` over a list of scalars: ``${item}`` is the singular wildcard.
- ``matrix``: each ``${item.<name>}`` is a wildcard ``{<name>}``.
- any other ``${section.key}`` is a params.yaml value, substituted as is.

Outputs without a file suffix are directories. Parameters (``params:`` entries such as ``crop``
or ``train.epochs``) become Snakemake params holding the config values, so that Snakemake reruns a
rule when they change, as DVC does. The shell command is the param ``command``, filled in per job
by the same code that expands DVC's templates.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_TEMPLATE = re.compile(r"\$\{\s*([^}]+?)\s*\}")


def singular(collection: str) -> str:
    """``videos`` -> ``video``: the wildcard name of a collection (``corpus`` stays ``corpus``)."""
    if collection.endswith("s") and not collection.endswith(("ss", "us")):
        return collection[:-1]
    return collection


def _entry_path(entry: str | dict[str, Any]) -> str:
    """An outs / metrics / plots entry is a path, or a one-key mapping of path -> options."""
    return entry if isinstance(entry, str) else next(iter(entry))


def _lookup(config: dict[str, Any], dotted: str) -> Any:
    value: Any = config
    for part in dotted.split("."):
        value = value[part]
    return value


def _param_name(expression: str) -> str:
    """A Python identifier for a params entry: ``variant_specs.${item.variant}`` ->
    ``variant_specs_item_variant``."""
    return re.sub(r"\W+", "_", expression).strip("_")


@dataclass(frozen=True)
class StageTemplate:
    """One dvc.yaml stage (a ``foreach``/``matrix`` template or a plain stage)."""

    name: str
    body: dict[str, Any]
    loop: str | None  # "foreach", "matrix" or None
    over: Any  # the foreach collection expression or the matrix mapping
    config: dict[str, Any]

    @property
    def cmd(self) -> str:
        return self.body["cmd"]

    @property
    def deps(self) -> list[str]:
        return list(self.body.get("deps", []))

    @property
    def outs(self) -> list[str]:
        return [_entry_path(entry) for key in ("outs", "metrics", "plots")
                for entry in self.body.get(key, [])]

    @property
    def params(self) -> list[str]:
        return [_entry_path(entry) for entry in self.body.get("params", [])]

    def collection(self) -> str:
        """Name of the config collection a ``foreach`` iterates over (``videos``)."""
        match = _TEMPLATE.fullmatch(str(self.over))
        if self.loop != "foreach" or match is None:
            raise ValueError(f"stage {self.name}: foreach must be a ${{...}} reference")
        return match.group(1)

    def members(self) -> Any:
        return _lookup(self.config, self.collection())

    def loop_wildcard(self) -> str:
        return singular(self.collection().split(".")[-1])

    def items(self) -> Iterator[dict[str, str]]:
        """The wildcard values of every concrete stage this template expands to."""
        if self.loop is None:
            yield {}
        elif self.loop == "matrix":
            names = list(self.over)
            values = [_matrix_values(self.config, self.over[name]) for name in names]
            for combination in itertools.product(*values):
                yield dict(zip(names, map(str, combination)))
        else:
            for member in self.members():
                yield {self.loop_wildcard(): str(member)}

    def wildcard(self, expression: str) -> str | None:
        """The wildcard a loop variable stands for; None for config lookups and params."""
        if self.loop == "matrix" and expression.startswith("item."):
            return expression.removeprefix("item.")
        if self.loop == "foreach" and (expression in ("key", "item") or
                                       expression.startswith("item.") and
                                       not isinstance(self.members(), dict)):
            return self.loop_wildcard()
        return None

    def resolve(self, expression: str, wildcards: dict[str, str]) -> str:
        """The concrete value of ``${expression}`` for one expansion of the stage."""
        wildcard = self.wildcard(expression)
        if wildcard is not None:
            return wildcards[wildcard]
        if self.loop == "foreach" and expression.startswith("item."):
            member = self.members()[wildcards[self.loop_wildcard()]]
            return str(_lookup(member, expression.removeprefix("item.")))
        return str(_lookup(self.config, expression))

    def fill(self, text: str, wildcards: dict[str, str]) -> str:
        return _TEMPLATE.sub(lambda m: self.resolve(m.group(1), wildcards), text)

    def pattern(self, text: str) -> str | Callable[[Any], str]:
        """A templated path as a Snakemake pattern, or an input function when it needs lookups."""
        expressions = [m.group(1) for m in _TEMPLATE.finditer(text)]
        if any(self.wildcard(e) is None and e.startswith("item.") for e in expressions):
            return lambda wildcards: self.fill(text, dict(wildcards.items()))
        return _TEMPLATE.sub(lambda m: self._pattern_part(m.group(1)), text)

    def _pattern_part(self, expression: str) -> str:
        wildcard = self.wildcard(expression)
        return f"{{{wildcard}}}" if wildcard else str(_lookup(self.config, expression))

    def command(self, wildcards: dict[str, str]) -> str:
        """The concrete command of one expansion, exactly as DVC runs it."""
        return self.fill(self.cmd, wildcards)


def _matrix_values(config: dict[str, Any], value: Any) -> list[Any]:
    if isinstance(value, str):
        match = _TEMPLATE.fullmatch(value)
        return list(_lookup(config, match.group(1))) if match else [value]
    return list(value)


class DvcPipeline:
    """dvc.yaml read once, answering each Snakemake rule's questions."""

    def __init__(self, dvc_yaml: str | Path, config: dict[str, Any]) -> None:
        self.config = config
        stages = yaml.safe_load(Path(dvc_yaml).read_text())["stages"]
        self.stages: dict[str, StageTemplate] = {}
        for name, spec in stages.items():
            if "foreach" in spec:
                template = StageTemplate(name, spec["do"], "foreach", spec["foreach"], config)
            elif "matrix" in spec:
                body = {k: v for k, v in spec.items() if k != "matrix"}
                template = StageTemplate(name, body, "matrix", spec["matrix"], config)
            else:
                template = StageTemplate(name, spec, None, None, config)
            self.stages[name] = template
        # Every concrete output, and the outputs inside each folder, computed once: Snakemake
        # asks for them per rule, and their number grows with the videos.
        self._outputs = [template.fill(out, wildcards) for template in self.stages.values()
                         for wildcards in template.items() for out in template.outs]
        self._output_set = set(self._outputs)
        self._inside: dict[Path, list[str]] = defaultdict(list)
        for out in self._outputs:
            for folder in Path(out).parents:
                self._inside[folder].append(out)

    def input(self, stage: str) -> list[str | Callable]:
        """The stage's deps. A dep on a folder that holds other stages' outputs (DVC links such a
        dep to every output inside it) becomes those outputs, and a dep on a file inside another
        stage's output folder becomes that folder (Snakemake knows only the folder as an
        output), so Snakemake orders the jobs."""
        template = self.stages[stage]
        inputs: list[str | Callable] = []
        for dep in template.deps:
            if self._in_output(template, dep):
                inputs.append(lambda wildcards, dep=dep, template=template: self._enclosing(
                    template.fill(dep, dict(wildcards.items()))))
            else:
                inputs.extend(self._inside.get(Path(dep)) or [template.pattern(dep)])
        return inputs

    def _enclosing(self, path: str) -> str:
        """The output that holds ``path`` (itself, or the output folder it lies in)."""
        return next((str(folder) for folder in Path(path).parents
                     if str(folder) in self._output_set), path)

    def _in_output(self, template: StageTemplate, dep: str) -> bool:
        """Whether some expansion of ``dep`` lies inside another stage's output folder."""
        return any(self._enclosing(path) != path
                   for path in {template.fill(dep, wildcards) for wildcards in template.items()})

    def output(self, stage: str) -> list[Any]:
        from snakemake.io import directory

        template = self.stages[stage]
        outputs: list[Any] = []
        for out in template.outs:
            pattern = template.pattern(out)
            if callable(pattern):
                raise ValueError(f"stage {stage}: output {out!r} must be made of wildcards")
            outputs.append(pattern if Path(out).suffix else directory(pattern))
        return outputs

    def params(self, stage: str) -> dict[str, Any]:
        """The stage's params.yaml values (Snakemake reruns a rule when they change, as DVC
        does) and ``command``, the concrete command line (a function of the wildcards, so that
        rules defined in a loop each keep their own)."""
        template = self.stages[stage]
        values: dict[str, Any] = {}
        for name in template.params:
            if _TEMPLATE.search(name):  # e.g. variant_specs.${item.variant}
                values[_param_name(name)] = (lambda wildcards, name=name: _lookup(
                    self.config, template.fill(name, dict(wildcards.items()))))
            else:
                values[_param_name(name)] = _lookup(self.config, name)
        values["command"] = lambda wildcards: template.command(dict(wildcards.items()))
        return values

    def all_outputs(self) -> list[str]:
        """Every concrete output of every stage: the target of ``rule all``."""
        return list(self._outputs)

    def wildcard_names_of(self, stage: str) -> set[str]:
        """Wildcards of a stage's rule (empty for a single-unit stage), also when its collection
        is empty."""
        template = self.stages[stage]
        if template.loop == "matrix":
            return set(template.over)
        return {template.loop_wildcard()} if template.loop == "foreach" else set()

    def wildcard_names(self) -> set[str]:
        return set().union(*(self.wildcard_names_of(stage) for stage in self.stages))
