"""Datasets: skeletons, the synthetic dataset, dataset readers, safe pickles, audio I/O, the torch Dataset over shards."""
