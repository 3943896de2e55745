"""Benchmarks: data access and features (``data``), ingestion (``ingest``), MCLEMCD, MotionBeat and
dance-to-music training steps and generation (``mclemcd``, ``motionbeat``, ``dance2music``; timing in ``steps``)."""
