# Per-video preprocessing: ingest -> crop -> landmarks.


rule ingest:
    input:
        PIPELINE.input("ingest"),
    output:
        PIPELINE.output("ingest"),
    params:
        **PIPELINE.params("ingest"),
    log:
        "logs/ingest/{video}.log",
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
    shell:
        PIPELINE.shell("ingest") + " 2> {log}"


rule crop:
    input:
        PIPELINE.input("crop"),
    output:
        PIPELINE.output("crop"),
    params:
        **PIPELINE.params("crop"),
    log:
        "logs/crop/{video}.log",
    threads: 1
    resources:
        mem_mb=1500,
        runtime=30,
    shell:
        PIPELINE.shell("crop") + " 2> {log}"


rule landmarks:
    input:
        PIPELINE.input("landmarks"),
    output:
        PIPELINE.output("landmarks"),
    params:
        **PIPELINE.params("landmarks"),
    log:
        "logs/landmarks/{video}.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    shell:
        PIPELINE.shell("landmarks") + " 2> {log}"
