"""The conditional VAE's own guards: the label reaches encoder and decoder, the prior sampler follows labels."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from aezoo.datasets import GaussianNoise, test_pairs
from tests.fixtures import tiny_model



def tiny(name: str, **overrides) -> keras.Model:
    return tiny_model(name, **{"seed": 3, **overrides})


@pytest.fixture(scope="module")
def pairs(tiny_splits):
    noisy, clean = test_pairs(tiny_splits.train_images[:16], GaussianNoise(0.5))
    return noisy, clean, tiny_splits.train_labels[:16].astype("int32")


# --- Conditional VAE -----------------------------------------------------------------------------

def test_cvae_decoder_output_changes_with_the_label(pairs):
    noisy, clean, labels = pairs
    model = tiny("cvae")
    model.fit((noisy, labels), clean, batch_size=16, epochs=2, verbose=0)
    z = model.encode(noisy[:4], labels[:4])
    as_zero = np.asarray(model.decode(z, np.zeros(4, "int32")))
    as_one = np.asarray(model.decode(z, np.ones(4, "int32")))
    assert np.abs(as_zero - as_one).mean() > 1e-3
    # The encoder sees the label too.
    assert not np.allclose(model.encode(noisy[:4], np.zeros(4, "int32")), model.encode(noisy[:4], np.ones(4, "int32")))


def test_the_prior_sampler_draws_the_requested_classes():
    from aezoo.samplers.prior import PriorSampler

    sampler = PriorSampler(tiny("cvae"))
    assert sampler.conditional and sampler.sample(12, seed=1).shape == (12, 28, 28, 1)  # classes 0..9, 0, 1
    np.testing.assert_array_equal(sampler.sample(3, labels=7, seed=1), sampler.sample(3, labels=[7, 7, 7], seed=1))
    assert not np.allclose(sampler.sample(3, labels=7, seed=1), sampler.sample(3, labels=2, seed=1))
