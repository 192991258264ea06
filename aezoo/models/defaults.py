"""The default architecture, in one place: every model's constructor takes its defaults from here.

Chosen by the benchmark (``python -m aezoo.bench``, figures in bench/README.md): with a 10-d
embedding, 24 filters and batch normalisation reach 17 dB test PSNR on the
embedded data in the textbook autoencoder's training time (with ``TrainConfig``'s batch size,
learning rate and cosine schedule). 32 filters without normalisation, the textbook choice,
stays near 14 dB in 10 epochs on 4000 images.
"""

EMBEDDING_DIM = 10  # room for ten digit classes, small enough to force a compressed code
DEPTH = 1  # convolutions per resolution level
FILTERS = 24  # of the first level; the second has twice as many
ACTIVATION = "relu"
BATCH_NORM = True
