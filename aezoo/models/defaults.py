"""The default architecture, in one place: every model's constructor takes its defaults from here.

Chosen by the benchmark (``python -m aezoo.bench``; its runs and figures are in bench/README.md,
"How the defaults got there"): with ``TrainConfig``'s batch size, learning rate and cosine
schedule, two convolutions per resolution level at 16 and 32 filters, with batch normalisation,
denoise better than one convolution per level at 24 and 48 filters with fewer weights, and train
in about the textbook autoencoder's time once batch normalisation runs fused
(:class:`aezoo.models.batch_norm.FusedBatchNormalization`). Without batch normalisation the deeper
network trains faster but denoises worse or collapses to a blank output.
"""

EMBEDDING_DIM = 10  # room for ten digit classes, small enough to force a compressed code
DEPTH = 2  # convolutions per resolution level: a stride-2 one, then a stride-1 one
FILTERS = 16  # of the first level; the second has twice as many
ACTIVATION = "relu"
BATCH_NORM = True
IMAGE_SHAPE = (28, 28, 1)  # MNIST digits, the offline default data; any (H, W, C) the data has
