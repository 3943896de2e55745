"""Benchmarks: data access and features (``data``), ingestion (``ingest``), MCLEMCD training steps (``mclemcd``)."""
