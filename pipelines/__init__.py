"""Music–dance alignment pipeline.

The package is grouped by role; dependencies point one way, stages → libraries, never back:

- ``config``, ``dag``, ``cli``, ``files``, ``errors``, ``codedeps``: params, the one DAG
  declaration, command-line plumbing, atomic file I/O, the bad-input error;
- ``data/``: skeletons, the synthetic dataset, dataset readers, safe pickles, audio I/O, the
  torch ``Dataset`` over shards;
- ``ingest/``: downloads, YouTube clips, pose, stems, EnCodec, and the per-clip runner;
- ``features/``: audio and motion features, window arithmetic, the shard writer;
- ``models/``: the torch-free registry of model names, graph convolution, losses, the
  retrieval models and MCLEMCD;
- ``training/``: the one training loop, the checkpoint format, seeding and device choice;
- ``evaluation/``: retrieval, classification (the one vote) and beat metrics;
- ``reports/``: the data and model reports' content;
- ``stages/``: one thin ``python -m pipelines.stages.<stage>`` entry point per DAG stage;
- ``tools/`` (``recommend``, ``spleeter_random``) and ``bench/``: commands outside the DAG.
"""

__version__ = "0.1.0"
