# Shared by every rule file: the dvc.yaml declaration the rules are derived from.
import sys

sys.path.insert(0, workflow.basedir + "/workflow")
from dvc_pipeline import DvcPipeline

PIPELINE = DvcPipeline(workflow.basedir + "/dvc.yaml", config)


wildcard_constraints:
    **{name: "[^/]+" for name in PIPELINE.wildcard_names()},
