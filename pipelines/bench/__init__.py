"""Benchmarks: data access and features (``data``), ingestion (``ingest``), MCLEMCD and MotionBeat training
steps (``mclemcd``, ``motionbeat``; timing in ``steps``)."""
