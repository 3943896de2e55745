import sys

sys.path.insert(0, workflow.basedir)

from pipelines.config import ParamsError, load_params  # noqa: E402
from pipelines.dag import ablation_targets, final_targets, stages  # noqa: E402
from pipelines.registry import check_params  # noqa: E402

# params.yaml goes through pipelines.config.load_params before Snakemake's own `configfile:`, which
# reports a YAML syntax error without its line: one line naming the file and the line or the key
try:
    PARAMS = check_params(load_params("params.yaml"))
except ParamsError as err:
    raise WorkflowError(str(err))


configfile: "params.yaml"


if config != PARAMS:
    raise WorkflowError(
        "params.yaml is the only configuration: edit it instead of passing --config/--configfile"
    )

STAGES = stages(config)


def stage_outputs(stage):
    """A stage's outputs: directories marked, report captions attached."""
    out = []
    for path in stage.outs + stage.metrics + stage.plots:
        target = directory(path) if path in stage.out_dirs else path
        caption = stage.captions.get(path)
        if caption:
            extra = {k: caption[k] for k in ("subcategory", "patterns") if k in caption}
            target = report(
                target,
                caption=f"../report/{caption['caption']}.rst",
                category=caption["category"],
                **extra,
            )
        out.append(target)
    return out


def slurm_partition(stage):
    """The SLURM partition of a stage's jobs under workflow/profiles/slurm, from params.yaml's
    optional `cluster` section: `gpu_partition` for the stages declared gpu=True (the executor
    adds --gpus=1 from the resource gpu=1), `cpu_partition` for the others; none (the cluster's
    default partition) where the section or the value is missing. Local runs ignore it.
    """
    cluster = config.get("cluster") or {}
    name = cluster.get("gpu_partition" if stage.gpu else "cpu_partition")
    return {"slurm_partition": name} if name else {}
