"""Commands outside the DAG: music recommendation (``recommend``) and random Spleeter weights for tests."""
