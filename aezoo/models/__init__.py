"""Models: Keras, TensorFlow and TFP only (no data loading, plotting or file I/O)."""

from aezoo.models.autoencoder import RECONSTRUCTION_LOSSES, ConvAutoencoder
from aezoo.models.base import DenoisingAutoencoderBase, per_image_mse, per_image_psnr
from aezoo.models.decoder import Decoder
from aezoo.models.encoder import Encoder
from aezoo.models.latent import GaussianLatent
from aezoo.models.vae import VariationalAutoencoder

MODEL_CLASSES = {"ae": ConvAutoencoder, "vae": VariationalAutoencoder}

__all__ = [
    "MODEL_CLASSES", "RECONSTRUCTION_LOSSES", "ConvAutoencoder", "Decoder", "DenoisingAutoencoderBase",
    "Encoder", "GaussianLatent", "VariationalAutoencoder", "per_image_mse", "per_image_psnr",
]
