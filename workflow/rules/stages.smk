# One rule per dvc.yaml stage: same command, inputs, outputs and parameters as DVC, with the
# threads, resources and log file Snakemake needs to schedule it (locally or on SLURM).

for stage in PIPELINE.stages:

    rule:
        name:
            stage
        input:
            PIPELINE.input(stage),
        output:
            PIPELINE.output(stage),
        params:
            **PIPELINE.params(stage),
        log:
            log_path(stage),
        threads: needs(stage)["threads"]
        resources:
            mem_mb=needs(stage)["mem_mb"],
            runtime=needs(stage)["runtime"],
            gpu=needs(stage).get("gpu", 0),
        shell:
            "{params.command} 2> {log}"
