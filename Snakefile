# The h2h pipeline for Snakemake: the same stages as dvc.yaml (from which the rules are derived),
# configured by the same params.yaml. Locally: snakemake --cores 2
# On a SLURM cluster: snakemake --profile workflow/profiles/slurm
from snakemake.utils import min_version

from h2h.core.config import validate_params

min_version("9.0")


configfile: "params.yaml"


# The schema and the cross-references (reenactments of known videos, ...), as DVC stages check.
validate_params(config)


include: "workflow/rules/common.smk"


rule all:
    input:
        PIPELINE.all_outputs(),


include: "workflow/rules/stages.smk"
