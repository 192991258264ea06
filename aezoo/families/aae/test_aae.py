"""The adversarial autoencoder's own guards: each phase's loss, the three updates of a step, the pull of
the codes towards N(0, I), and the adversarial optimizers' state in saved models and backups."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from aezoo.datasets import GaussianNoise, test_pairs, training_dataset
from aezoo.families import build, get_model
from aezoo.families.aae.model import VALIDATION_SEED, AdversarialAutoencoder
from aezoo.models.capabilities import GENERATIVE, LATENT_SPACE, capabilities_of
from aezoo.models.latent import stateless_seed
from aezoo.samplers import samplers_for
from tests.fixtures import TINY_HYPERPARAMETERS, tiny_model


@pytest.fixture(scope="module")
def pairs(tiny_splits):
    return test_pairs(tiny_splits.test_images[:16], GaussianNoise(0.5))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def test_it_is_a_generative_autoencoder_with_the_standard_normal_prior():
    model = tiny_model("aae")
    assert capabilities_of(model) == {LATENT_SPACE, GENERATIVE}
    assert samplers_for(model)[0] == get_model("aae").family.default_sampler == "prior"
    prior = model.prior()
    np.testing.assert_array_equal(prior.mean(), np.zeros(4))
    np.testing.assert_array_equal(prior.stddev(), np.ones(4))


@pytest.mark.parametrize("pixel_loss", ["mse", "bce"])
def test_the_validation_losses_are_the_reconstruction_and_the_two_cross_entropies(pairs, pixel_loss):
    noisy, clean = pairs
    model = tiny_model("aae", pixel_loss=pixel_loss)
    scores = model.evaluate(noisy, clean, batch_size=16, verbose=0, return_dict=True)

    codes = model.encoder(noisy, training=False).numpy()
    denoised = np.clip(model.decoder(codes, training=False).numpy(), 1e-7, 1 - 1e-7)
    reconstruction = (((clean - denoised) ** 2) if pixel_loss == "mse" else
                      -(clean * np.log(denoised) + (1 - clean) * np.log(1 - denoised))).mean()
    drawn = model.prior().sample(16, seed=stateless_seed(VALIDATION_SEED)).numpy()
    d_drawn = _sigmoid(model.discriminator(drawn).numpy()[:, 0].astype("float64"))
    d_codes = _sigmoid(model.discriminator(codes).numpy()[:, 0].astype("float64"))
    assert scores["reconstruction_loss"] == pytest.approx(reconstruction, rel=1e-4)
    assert scores["loss"] == scores["reconstruction_loss"]
    assert scores["discriminator_loss"] == pytest.approx(np.mean(-np.log(d_drawn) - np.log(1 - d_codes)), rel=1e-4)
    assert scores["generator_loss"] == pytest.approx(np.mean(-np.log(d_codes)), rel=1e-4)
    assert "then the encoder learns to fool it" in get_model("aae").loss_in_words({"pixel_loss": pixel_loss})


def test_a_train_step_is_the_reconstruction_the_discriminator_and_the_generator_update(pairs):
    """One step = (1) an SGD step of encoder and decoder on the reconstruction loss; (2) an Adam step of
    the discriminator on telling N(0, I) draws (1) from the updated encoder's codes (0); (3) an Adam step
    of the encoder on -log D(codes) against the updated discriminator. Replayed here by hand, with the
    same prior draws (the seed generator's state restored) and both Adam steps at the SGD's rate."""
    noisy, clean = pairs
    learning_rate = 0.05

    def make() -> AdversarialAutoencoder:
        keras.utils.set_random_seed(0)
        model = AdversarialAutoencoder(**TINY_HYPERPARAMETERS, seed=3)
        model.compile(optimizer=keras.optimizers.SGD(learning_rate))
        model.build()
        return model

    model, replay = make(), make()
    start = {w.path: w.numpy() for w in model.weights}

    # (1) reconstruction
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(clean - replay.decoder(replay.encoder(noisy, training=True), training=True)))
    autoencoder = replay.encoder.trainable_variables + replay.decoder.trainable_variables
    for variable, gradient in zip(autoencoder, tape.gradient(loss, autoencoder)):
        variable.assign_sub(learning_rate * gradient)
    # (2) discriminator, on the draws the step takes
    drawn = replay.prior().sample(len(noisy), seed=tf.cast(replay.seed_generator.next(), tf.int32))
    codes = replay.encoder(noisy, training=True)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(-tf.math.log(tf.sigmoid(replay.discriminator(drawn)))
                              - tf.math.log(1 - tf.sigmoid(replay.discriminator(codes))))
    discriminator = replay.discriminator.trainable_variables
    keras.optimizers.Adam(learning_rate).apply_gradients(zip(tape.gradient(loss, discriminator), discriminator))
    # (3) the encoder as the generator
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(-tf.math.log(tf.sigmoid(replay.discriminator(replay.encoder(noisy, training=True)))))
    encoder = replay.encoder.trainable_variables
    keras.optimizers.Adam(learning_rate).apply_gradients(zip(tape.gradient(loss, encoder), encoder))

    model.fit(tf.data.Dataset.from_tensors((noisy, clean)), epochs=1, verbose=0, shuffle=False)  # one step
    for mine, wanted in zip(model.weights, replay.weights):
        if "seed_generator" in mine.path:
            continue
        assert np.abs(wanted.numpy() - start[mine.path]).max() > 0, f"{mine.path} was not updated by the replay"
        np.testing.assert_allclose(mine.numpy(), wanted.numpy(), rtol=1e-4, atol=1e-6, err_msg=mine.path)
    for optimizer in (model.discriminator_optimizer, model.generator_optimizer):
        assert int(optimizer.iterations) == 1 and float(optimizer.learning_rate) == pytest.approx(learning_rate)
    assert int(model.optimizer.iterations) == 1  # a learning-rate schedule counts one step per batch


def mmd_to_standard_normal(codes: np.ndarray, seed: int = 0) -> float:
    """The squared maximum mean discrepancy between ``codes`` and as many N(0, I) draws, with the inverse
    multiquadratic kernel C / (C + |x - y|^2), C = 2 * dimensions (Tolstikhin et al. 2018)."""
    drawn = np.random.default_rng(seed).standard_normal(codes.shape)
    scale = 2.0 * codes.shape[1]

    def kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return scale / (scale + ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))

    n = len(codes)
    off_diagonal = 1 - np.eye(n)
    return float((kernel(codes, codes) * off_diagonal).sum() / (n * (n - 1))
                 + (kernel(drawn, drawn) * off_diagonal).sum() / (n * (n - 1))
                 - 2 * kernel(codes, drawn).mean())


def test_the_discriminator_pulls_the_codes_towards_the_prior(embedded):
    """Trained alike, the AAE's codes of test digits lie far closer to N(0, I) (MMD) than the plain AE's,
    and closer than when it started."""
    images = embedded.train_images[:1024]
    noisy, _ = test_pairs(embedded.test_images[:400], GaussianNoise(0.5))
    mmd = {}
    for name in ("ae", "aae"):
        keras.utils.set_random_seed(0)
        model = build(name, embedding_dim=4, depth=1, filters=8, batch_norm=True, seed=0)
        model.compile(optimizer=keras.optimizers.Adam(3e-3))
        model.build()
        if name == "aae":
            before = mmd_to_standard_normal(model.encode(noisy).numpy())
        model.fit(training_dataset(images, GaussianNoise(0.5), 64, seed=0), epochs=6, verbose=0, shuffle=False)
        mmd[name] = mmd_to_standard_normal(model.encode(noisy).numpy())
    assert mmd["aae"] < 0.5 * before and mmd["aae"] < 0.25 * mmd["ae"], (before, mmd)


def test_saving_and_the_training_backup_restore_both_adversarial_optimizers(pairs, tmp_path):
    from aezoo.callbacks.atomic_backup import TrainingBackup

    noisy, clean = pairs
    model = tiny_model("aae")
    model.fit(noisy, clean, batch_size=8, epochs=2, verbose=0)

    def state(restored: AdversarialAutoencoder) -> dict[str, np.ndarray]:
        optimizers = {"compiled": restored.optimizer, "discriminator": restored.discriminator_optimizer,
                      "generator": restored.generator_optimizer}
        return {f"{role} {index}": variable.numpy() for role, optimizer in optimizers.items()
                for index, variable in enumerate(optimizer.variables)}

    expected = state(model)
    assert int(model.discriminator_optimizer.iterations) == int(model.generator_optimizer.iterations) == 4
    assert len(model.discriminator_optimizer.variables) > 2  # the iteration count, the rate and Adam's slots
    model.save(tmp_path / "model.keras")
    backup = TrainingBackup(tmp_path / "backup")
    backup.set_model(model)
    backup.on_epoch_end(1, {"loss": 1.0})
    resumed = tiny_model("aae")
    assert backup.restore(resumed) == 2
    for restored in (keras.saving.load_model(tmp_path / "model.keras"), resumed):
        got = state(restored)
        assert got.keys() == expected.keys()
        for key, value in expected.items():
            np.testing.assert_array_equal(got[key], value, err_msg=key)


def test_a_bad_discriminator_size_is_refused():
    with pytest.raises(ValueError, match="discriminator_units must be a positive integer, got 0"):
        AdversarialAutoencoder(discriminator_units=0)
