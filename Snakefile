# The h2h pipeline for Snakemake: the same stages as dvc.yaml (from which the rules are derived),
# configured by the same params.yaml. Locally: snakemake --cores 2
# On a SLURM cluster: snakemake --profile workflow/profiles/slurm
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "params.yaml"


validate(config, "h2h/params.schema.yaml")


include: "workflow/rules/common.smk"


rule all:
    input:
        PIPELINE.all_outputs(),


include: "workflow/rules/stages.smk"
