"""Reading and validating params.yaml, the single place where the pipeline's parameters live.

Each stage reads its section as one frozen dataclass (:class:`Section`): the schema checks the
values, params.yaml holds every value (no defaults in code), and the dataclass gives the stage
typed attributes instead of dictionary lookups.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import jsonschema
import yaml

from h2h.core.errors import H2HError

SCHEMA_PATH = Path(__file__).with_name("params.schema.yaml")

S = TypeVar("S", bound="Section")


class Section:
    """Base of the frozen dataclasses that hold one params.yaml section each.

    ``name`` is the section's key in params.yaml. :meth:`from_params` builds the dataclass from
    the loaded parameters, recursing into fields that are dataclasses themselves and turning lists
    into tuples for tuple fields, so the result is hashable and immutable.
    """

    name: ClassVar[str]

    @classmethod
    def from_params(cls: type[S], params: Mapping[str, Any]) -> S:
        """The section ``cls.name`` of ``params`` (the whole parameter mapping)."""
        return from_mapping(cls, params[cls.name], cls.name)


T = TypeVar("T")


def from_mapping(cls: type[T], values: Mapping[str, Any], where: str) -> T:
    """Build dataclass ``cls`` from ``values``; a missing or unknown key is a user error naming
    ``where`` (the key's path in params.yaml)."""
    hints = typing.get_type_hints(cls)
    fields = {field.name: field for field in dataclasses.fields(cls) if field.init}
    required = {name for name, field in fields.items()
                if field.default is dataclasses.MISSING
                and field.default_factory is dataclasses.MISSING}
    unknown, missing = set(values) - set(fields), required - set(values)
    if unknown or missing:
        problems = ([f"unknown key(s) {', '.join(sorted(unknown))}"] if unknown else []) + (
            [f"missing key(s) {', '.join(sorted(missing))}"] if missing else [])
        raise H2HError(f"invalid parameter {where}: {'; '.join(problems)}", "params.yaml")
    kwargs = {}
    for name, value in values.items():
        kind = hints[name]
        if dataclasses.is_dataclass(kind) and isinstance(value, Mapping):
            value = from_mapping(kind, value, f"{where}.{name}")
        elif typing.get_origin(kind) is tuple and isinstance(value, list):
            value = tuple(value)
        kwargs[name] = value
    return cls(**kwargs)


def as_dict(section: Any) -> dict[str, Any]:
    """A section dataclass as plain data (tuples as lists), as params.yaml writes it."""
    def plain(value: Any) -> Any:
        if isinstance(value, (tuple, list)):
            return [plain(item) for item in value]
        if isinstance(value, Mapping):
            return {key: plain(item) for key, item in value.items()}
        return value
    return plain(dataclasses.asdict(section))


@lru_cache(maxsize=1)
def params_schema() -> dict[str, Any]:
    """The JSON schema of params.yaml (also used by the Snakemake workflow)."""
    return yaml.safe_load(SCHEMA_PATH.read_text())


def validate_params(params: dict[str, Any], source: str | Path = "params.yaml") -> None:
    """Raise :class:`H2HError` naming the offending key when ``params`` breaks the schema or
    refers to something it does not define (a reenactment of an unknown video, ...)."""
    try:
        jsonschema.validate(params, params_schema())
    except jsonschema.ValidationError as error:
        where = ".".join(str(part) for part in error.absolute_path) or "(top level)"
        raise H2HError(f"invalid parameter {where}: {error.message}", source) from None
    for key, problem in reference_problems(params):
        raise H2HError(f"invalid parameter {key}: {problem}", source)


def reference_problems(params: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(key, problem) for every name in ``params`` that points at nothing."""
    videos, variants = params["videos"], params["variants"]
    for name, spec in params["reenactments"].items():
        for role in ("target", "source"):
            if spec[role] not in videos:
                yield f"reenactments.{name}.{role}", f"{spec[role]!r} is not a video id"
        if spec["mode"] == "self" and spec["source"] != spec["target"]:
            yield f"reenactments.{name}", "self reenactment needs source == target"
        if spec["target"] not in params["targets"] or spec["variant"] not in variants:
            yield (f"reenactments.{name}", f"{spec['target']} / {spec['variant']} is not trained "
                   "(add it to targets / variants)")
    for collection in ("targets", "corpus"):
        for video in params[collection]:
            if video not in videos:
                yield collection, f"{video!r} is not a video id"
    for variant in variants:
        if variant not in params["variant_specs"]:
            yield "variants", f"{variant!r} is not in variant_specs"
    if params["train"]["profile"] not in params["train"]["profiles"]:
        yield "train.profile", f"{params['train']['profile']!r} is not in train.profiles"


def load_params(path: str | Path = "params.yaml") -> dict[str, Any]:
    """Load and validate the parameter file."""
    path = Path(path)
    if not path.is_file():
        raise H2HError("parameter file not found", path)
    try:
        params = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise H2HError(f"not valid YAML ({error})", path) from None
    if not isinstance(params, dict):
        raise H2HError("expected a mapping of parameter sections", path)
    validate_params(params, path)
    return params


def resolve_path(path: str | Path, root: str | Path = ".") -> Path:
    """A path from params.yaml, relative to the project root unless absolute."""
    path = Path(path)
    return path if path.is_absolute() else Path(root) / path
