# The h2h pipeline for Snakemake: the same stages as dvc.yaml (from which the rules are derived),
# configured by the same params.yaml. Locally: snakemake --cores 2
# On a SLURM cluster: snakemake --profile workflow/profiles/slurm
from snakemake.utils import min_version

from h2h.core.config import validate_params
from h2h.core.inputs import check_raw_inputs

min_version("9.0")


configfile: "params.yaml"


# The schema and the cross-references (reenactments of known videos, ...), as DVC stages check.
validate_params(config)
# A missing face model or sample clip: say which command gets it.
check_raw_inputs(config)


include: "workflow/rules/common.smk"


rule all:
    input:
        PIPELINE.all_outputs(),


include: "workflow/rules/stages.smk"
