"""Models: the torch-free registry of names, graph convolution, losses, retrieval models, MCLEMCD."""
