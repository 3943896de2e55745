"""Evaluation: retrieval metrics and galleries, classification (the one vote), beat metrics."""
