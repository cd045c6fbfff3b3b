"""Reading and validating params.yaml, the single place where the pipeline's parameters live."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from h2h.core.errors import H2HError

SCHEMA_PATH = Path(__file__).with_name("params.schema.yaml")


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
    for target in params["targets"]:
        if target not in videos:
            yield "targets", f"{target!r} is not a video id"
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
