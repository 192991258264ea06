"""Models: Keras, TensorFlow and TFP only (no data loading, plotting or file I/O)."""

from aezoo.models.autoencoder import RECONSTRUCTION_LOSSES, ConvAutoencoder
from aezoo.models.base import DenoisingAutoencoderBase, per_image_mse, per_image_psnr
from aezoo.models.decoder import Decoder
from aezoo.models.encoder import Encoder
from aezoo.models.latent import GaussianLatent
from aezoo.models.vae import VariationalAutoencoder
from aezoo.models.families import FAMILIES, GROUPS, Family, build, get_family, parse_model_list

# Family name -> class (kept for older callers; new code uses FAMILIES and the capabilities).
MODEL_CLASSES = {name: family.model_class for name, family in FAMILIES.items()}

__all__ = [
    "FAMILIES", "GROUPS", "Family", "build", "get_family", "parse_model_list", "MODEL_CLASSES", "RECONSTRUCTION_LOSSES", "ConvAutoencoder", "Decoder", "DenoisingAutoencoderBase",
    "Encoder", "GaussianLatent", "VariationalAutoencoder", "per_image_mse", "per_image_psnr",
]
