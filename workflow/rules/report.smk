rule data_report:
    """Markdown data report: durations, tempi, NaN frames, windows per genre and split."""
    input:
        STAGES["data_report"].deps,
    output:
        report(
            STAGES["data_report"].outs[0],
            caption="../report/data_report.rst",
            category="Data",
        ),
        stage_outputs("data_report")[1:],
    log:
        STAGES["data_report"].log,
    conda:
        "../envs/pipeline.yaml"
    shell:
        "python -m pipelines.data_report --params params.yaml > {log} 2>&1"


if "report" in STAGES:

    rule report:
        """HTML and Markdown report: models against baselines and chance, with figures."""
        input:
            STAGES["report"].deps,
        output:
            report(STAGES["report"].outs[0], caption="../report/report.rst", category="Report"),
            STAGES["report"].outs[1],
            report(
                directory(STAGES["report"].outs[2]),
                patterns=["{name}.png"],
                caption="../report/figures.rst",
                category="Report",
            ),
        params:
            **STAGES["report"].param_values(config),
        log:
            STAGES["report"].log,
        conda:
            "../envs/pipeline.yaml"
        shell:
            "python -m pipelines.report --params params.yaml > {log} 2>&1"
