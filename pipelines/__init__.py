"""Music–dance alignment pipeline: one module per DAG stage.

Every stage is runnable as ``python -m pipelines.<stage> --params params.yaml``;
Snakemake (``Snakefile``) and DVC (``dvc.yaml``) both call exactly these commands.
"""

__version__ = "0.1.0"
