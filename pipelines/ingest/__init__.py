"""Ingestion: downloads, YouTube clips, MediaPipe pose, drum/bass stems, EnCodec codes, the per-clip runner."""
