"""Snakemake rules derived from dvc.yaml, so both tools run the same commands over the same files.

dvc.yaml is the one declaration of the pipeline. Each Snakemake rule asks this module for its
input, output, params and shell command, translated from DVC's templating:

- ``foreach`` over a mapping (``${videos}``): ``${key}`` becomes the wildcard named after the
  collection in the singular (``{video}``), and ``${item.<field>}`` a lookup of that field in the
  config (e.g. the raw video path).
- ``foreach`` over a list of mappings: each ``${item.<field>}`` is a wildcard ``{<field>}``.
- ``foreach`` over a list of scalars: ``${item}`` is the singular wildcard.
- ``matrix``: each ``${item.<name>}`` is a wildcard ``{<name>}``.

Outputs without a file suffix are directories. Parameters (``params:`` entries such as ``crop``
or ``train.epochs``) become Snakemake params holding the config values, so that Snakemake reruns a
rule when they change, as DVC does.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_TEMPLATE = re.compile(r"\$\{\s*([^}]+?)\s*\}")


def singular(collection: str) -> str:
    """``videos`` -> ``video``: the wildcard name of a collection."""
    return collection[:-1] if collection.endswith("s") else collection


def _entry_path(entry: str | dict[str, Any]) -> str:
    """An outs / metrics / plots entry is a path, or a one-key mapping of path -> options."""
    return entry if isinstance(entry, str) else next(iter(entry))


def _lookup(config: dict[str, Any], dotted: str) -> Any:
    value: Any = config
    for part in dotted.split("."):
        value = value[part]
    return value


@dataclass(frozen=True)
class StageTemplate:
    """One dvc.yaml stage (a ``foreach``/``matrix`` template or a plain stage)."""

    name: str
    body: dict[str, Any]
    loop: str | None  # "foreach", "matrix" or None
    over: Any  # the foreach collection expression or the matrix mapping

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

    def collection(self) -> str | None:
        """Name of the config collection a ``foreach`` iterates over (``videos``)."""
        if self.loop != "foreach":
            return None
        match = _TEMPLATE.fullmatch(str(self.over))
        if match is None:
            raise ValueError(f"stage {self.name}: foreach must be a ${{...}} reference")
        return match.group(1)

    def items(self, config: dict[str, Any]) -> Iterator[dict[str, str]]:
        """The wildcard values of every concrete stage this template expands to."""
        if self.loop is None:
            yield {}
        elif self.loop == "matrix":
            names = list(self.over)
            values = [_resolve_list(config, self.over[name]) for name in names]
            for combination in itertools.product(*values):
                yield dict(zip(names, map(str, combination)))
        else:
            collection = self.collection()
            assert collection is not None
            members = _lookup(config, collection)
            wildcard = singular(collection.split(".")[-1])
            if isinstance(members, dict):
                for key in members:
                    yield {wildcard: str(key)}
            else:
                for member in members:
                    yield ({k: str(v) for k, v in member.items()} if isinstance(member, dict)
                           else {wildcard: str(member)})

    def translate(self, text: str, config: dict[str, Any], for_shell: bool) -> str | Callable:
        """A templated string as a Snakemake pattern (or an input function for config lookups)."""
        lookups: list[str] = []

        def replace(match: re.Match[str]) -> str:
            expression = match.group(1)
            wildcard = self._wildcard_of(expression, config)
            if wildcard is not None:
                return f"{{wildcards.{wildcard}}}" if for_shell else f"{{{wildcard}}}"
            lookups.append(expression)
            return f"{{params.{_item_param(expression)}}}" if for_shell else "\0"

        translated = _TEMPLATE.sub(replace, text)
        if for_shell or not lookups:
            return translated
        if translated != "\0":
            raise ValueError(f"stage {self.name}: {text!r} mixes config lookups with a path")
        return self.item_lookup(lookups[0], config)

    def _wildcard_of(self, expression: str, config: dict[str, Any]) -> str | None:
        if expression == "key" or expression == "item" and self.loop == "foreach":
            collection = self.collection()
            assert collection is not None
            return singular(collection.split(".")[-1])
        if expression.startswith("item."):
            field = expression.removeprefix("item.")
            collection = self.collection()
            keyed = collection is not None and isinstance(_lookup(config, collection), dict)
            return None if keyed else field
        raise ValueError(f"stage {self.name}: unsupported template ${{{expression}}}")

    def item_lookup(self, expression: str, config: dict[str, Any]) -> Callable:
        """Input function returning field ``item.<field>`` of the current member."""
        collection = self.collection()
        assert collection is not None
        field = expression.removeprefix("item.")
        wildcard = singular(collection.split(".")[-1])
        return lambda wildcards: str(_lookup(config, collection)[wildcards[wildcard]][field])

    def item_expressions(self) -> list[str]:
        """Config lookups (``item.<field>`` of a keyed foreach) the command uses."""
        return [m.group(1) for m in _TEMPLATE.finditer(self.cmd)
                if m.group(1).startswith("item.") and self.loop == "foreach"]


def _item_param(expression: str) -> str:
    return expression.replace(".", "_")


def _resolve_list(config: dict[str, Any], value: Any) -> list[Any]:
    if isinstance(value, str):
        match = _TEMPLATE.fullmatch(value)
        if match:
            return list(_lookup(config, match.group(1)))
        return [value]
    return list(value)


class DvcPipeline:
    """dvc.yaml read once, answering each Snakemake rule's questions."""

    def __init__(self, dvc_yaml: str | Path, config: dict[str, Any]) -> None:
        self.config = config
        stages = yaml.safe_load(Path(dvc_yaml).read_text())["stages"]
        self.stages: dict[str, StageTemplate] = {}
        for name, spec in stages.items():
            if "foreach" in spec:
                self.stages[name] = StageTemplate(name, spec["do"], "foreach", spec["foreach"])
            elif "matrix" in spec:
                body = {k: v for k, v in spec.items() if k != "matrix"}
                self.stages[name] = StageTemplate(name, body, "matrix", spec["matrix"])
            else:
                self.stages[name] = StageTemplate(name, spec, None, None)

    def input(self, stage: str) -> list[str | Callable]:
        template = self.stages[stage]
        return [template.translate(dep, self.config, for_shell=False) for dep in template.deps]

    def output(self, stage: str) -> list[Any]:
        from snakemake.io import directory

        template = self.stages[stage]
        outputs: list[Any] = []
        for out in template.outs:
            pattern = template.translate(out, self.config, for_shell=False)
            outputs.append(pattern if Path(out).suffix else directory(pattern))
        return outputs

    def params(self, stage: str) -> dict[str, Any]:
        """Config values of the stage's params (rerun triggers) and the command's lookups."""
        template = self.stages[stage]
        values: dict[str, Any] = {name.replace(".", "_"): _lookup(self.config, name)
                                  for name in template.params}
        for expression in template.item_expressions():
            values[_item_param(expression)] = template.item_lookup(expression, self.config)
        return values

    def shell(self, stage: str) -> str:
        template = self.stages[stage]
        command = template.translate(template.cmd, self.config, for_shell=True)
        assert isinstance(command, str)
        return command

    def all_outputs(self) -> list[str]:
        """Every concrete output of every stage: the target of ``rule all``."""
        paths = []
        for template in self.stages.values():
            for wildcards in template.items(self.config):
                for out in template.outs:
                    paths.append(_fill(out, wildcards, template))
        return paths

    def wildcard_names(self) -> set[str]:
        names: set[str] = set()
        for template in self.stages.values():
            for wildcards in itertools.islice(template.items(self.config), 1):
                names.update(wildcards)
        return names


def _fill(text: str, wildcards: dict[str, str], template: StageTemplate) -> str:
    def replace(match: re.Match[str]) -> str:
        expression = match.group(1)
        if expression in ("key", "item"):
            return next(iter(wildcards.values()))
        return wildcards[expression.removeprefix("item.")]

    return _TEMPLATE.sub(replace, text)
