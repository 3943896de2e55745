import sys

import yaml

sys.path.insert(0, workflow.basedir)

from pipelines.config import ParamsError, validate_params  # noqa: E402
from pipelines.dag import final_targets, stages  # noqa: E402
from pipelines.models import MODEL_NAMES  # noqa: E402

try:
    validate_params(config, source="params.yaml")
except ParamsError as err:
    raise WorkflowError(str(err))

with open(workflow.source_path("../../params.yaml")) as _fh:
    if yaml.safe_load(_fh) != config:
        raise WorkflowError(
            "params.yaml is the only configuration: edit it instead of passing --config/--configfile"
        )

STAGES = stages(config)


def stage_outputs(name):
    """Outputs of a stage, directories marked for Snakemake."""
    st = STAGES[name]
    return [directory(o) if o in st.out_dirs else o for o in st.outs + st.metrics + st.plots]
