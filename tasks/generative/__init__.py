"""Pieces shared by the generative runs of chapter 12: image grids, sampling, the GAN collapse check."""
