# One training and one evaluation rule per model. Shell commands are formatted when a job
# runs, after this loop has finished, so the model name reaches them through params.
for model in MODEL_NAMES if "report" in STAGES else []:

    rule:
        name:
            f"train_{model}"
        input:
            STAGES[f"train_{model}"].deps,
        output:
            stage_outputs(f"train_{model}"),
        params:
            model=model,
            **STAGES[f"train_{model}"].param_values(config),
        log:
            STAGES[f"train_{model}"].log,
        conda:
            "../envs/pipeline.yaml"
        resources:
            gpu=0,
        shell:
            "python -m pipelines.train --params params.yaml --model {params.model} > {log} 2>&1"

    rule:
        name:
            f"evaluate_{model}"
        input:
            STAGES[f"evaluate_{model}"].deps,
        output:
            stage_outputs(f"evaluate_{model}")[0],
            report(
                stage_outputs(f"evaluate_{model}")[1],
                caption="../report/metrics.rst",
                category="Models",
                subcategory=model,
            ),
            stage_outputs(f"evaluate_{model}")[2],
        params:
            model=model,
            **STAGES[f"evaluate_{model}"].param_values(config),
        log:
            STAGES[f"evaluate_{model}"].log,
        conda:
            "../envs/pipeline.yaml"
        shell:
            "python -m pipelines.evaluate --params params.yaml --model {params.model} > {log} 2>&1"


if "mclemcd" in STAGES:

    rule mclemcd:
        """MCLEMCD: genre from dance, every variant of the ablation grid (graph-conv motion encoder, music autoencoder, collaborative learning)."""
        input:
            STAGES["mclemcd"].deps,
        output:
            stage_outputs("mclemcd"),
        params:
            **STAGES["mclemcd"].param_values(config),
        log:
            STAGES["mclemcd"].log,
        conda:
            "../envs/pipeline.yaml"
        resources:
            gpu=0,
        shell:
            "python -m pipelines.mclemcd --params params.yaml > {log} 2>&1"
