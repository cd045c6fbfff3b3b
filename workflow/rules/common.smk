# Shared by every rule file: the dvc.yaml declaration the rules are derived from, and what each
# stage's jobs need (workflow/resources.yaml).
import sys

import yaml

sys.path.insert(0, workflow.basedir + "/workflow")
from dvc_pipeline import DvcPipeline

PIPELINE = DvcPipeline(workflow.basedir + "/dvc.yaml", config)
with open(workflow.basedir + "/workflow/resources.yaml") as handle:
    RESOURCES = yaml.safe_load(handle)


def needs(stage):
    """threads / mem_mb / runtime / gpu of a stage's jobs."""
    return {**RESOURCES["default"], **RESOURCES.get(stage, {})}


def log_path(stage):
    """logs/<stage>/<wildcard values>.log (logs/<stage>.log for a single-unit stage)."""
    names = sorted(PIPELINE.wildcard_names_of(stage))
    if not names:
        return f"logs/{stage}.log"
    return f"logs/{stage}/" + "_".join(f"{{{name}}}" for name in names) + ".log"


wildcard_constraints:
    **{name: "[^/]+" for name in PIPELINE.wildcard_names()},
