"""Features: audio and motion features, window arithmetic, the HDF5 shard writer."""
