"""The default architecture, in one place: every model's constructor takes its defaults from here.

Chosen by the benchmark (``python -m aezoo.bench``; its figures are in bench/README.md): with
``TrainConfig``'s batch size, learning rate and cosine schedule, a 10-d embedding, 24 filters and
batch normalisation denoise clearly better than the textbook autoencoder's 32 filters without
normalisation, and reach its final quality in a fraction of its training time.
"""

EMBEDDING_DIM = 10  # room for ten digit classes, small enough to force a compressed code
DEPTH = 1  # convolutions per resolution level
FILTERS = 24  # of the first level; the second has twice as many
ACTIVATION = "relu"
BATCH_NORM = True
