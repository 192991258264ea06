"""The gated PixelCNN prior over VQ-VAE code grids."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from aezoo.models.pixelcnn import GatedPixelCNN, causal_mask

TINY = {"num_codes": 5, "height": 7, "width": 7, "filters": 8, "num_blocks": 6, "kernel_size": 3}


@pytest.fixture(scope="module")
def model() -> GatedPixelCNN:
    keras.utils.set_random_seed(0)
    model = GatedPixelCNN(**TINY)
    model.build()
    return model


def later_positions_changed(grid: np.ndarray, index: int, rng: np.random.Generator, num_codes: int) -> np.ndarray:
    """A copy of ``grid`` with every position from ``index`` on (raster order) redrawn."""
    flat = grid.reshape(-1).copy()
    flat[index:] = (flat[index:] + rng.integers(1, num_codes, size=flat[index:].shape)) % num_codes
    return flat.reshape(grid.shape)


def test_an_output_never_depends_on_its_own_or_later_positions(model):
    rng = np.random.default_rng(0)
    grid = rng.integers(0, TINY["num_codes"], size=(1, 7, 7))
    logits = model(grid).numpy()[0]
    # Variant i redraws positions i..48: the logits at position i must not move.
    changed = np.concatenate([later_positions_changed(grid, index, rng, TINY["num_codes"]) for index in range(49)])
    changed_logits = model(changed).numpy()
    for index in range(49):
        row, col = divmod(index, 7)
        np.testing.assert_allclose(changed_logits[index, row, col], logits[row, col], rtol=0, atol=1e-6,
                                   err_msg=f"position {(row, col)} sees itself or a later position")


def test_every_output_sees_every_earlier_position(model):
    """No blind spot: the gradient of the last position reaches all 48 positions before it."""
    grid = tf.constant(np.random.default_rng(1).integers(0, TINY["num_codes"], size=(1, 7, 7)))
    embedded = model.embedding(grid)
    with tf.GradientTape() as tape:
        tape.watch(embedded)
        vertical, horizontal = embedded, embedded
        for block in model.blocks:
            vertical, horizontal = block((vertical, horizontal))
        last = model.logits(model.head(keras.ops.relu(horizontal)))[0, 6, 6]
        score = tf.reduce_sum(last * tf.range(1.0, TINY["num_codes"] + 1.0))
    influence = tf.reduce_sum(tf.abs(tape.gradient(score, embedded)), axis=-1).numpy()[0].reshape(-1)
    assert np.all(influence[:48] > 0), np.flatnonzero(influence[:48] == 0)
    assert influence[48] == 0


def test_masks_a_and_b_differ_only_at_the_centre():
    a, b = causal_mask((3, 3), "A")[..., 0, 0], causal_mask((3, 3), "B")[..., 0, 0]
    np.testing.assert_array_equal(a, [[1, 1, 1], [1, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(b - a, [[0, 0, 0], [0, 1, 0], [0, 0, 0]])
    np.testing.assert_array_equal(causal_mask((3, 3), "V")[..., 0, 0], [[1, 1, 1], [1, 1, 1], [0, 0, 0]])


def test_sampling_is_reproducible_per_seed(model):
    grids = model.sample(3, seed=7).numpy()
    assert grids.shape == (3, 7, 7) and grids.dtype == np.int32
    assert grids.min() >= 0 and grids.max() < TINY["num_codes"]
    np.testing.assert_array_equal(grids, model.sample(3, seed=7).numpy())
    assert not np.array_equal(grids, model.sample(3, seed=8).numpy())


def test_sample_traces_into_a_graph_with_tensor_arguments(model):
    signature = tf.function(model.sample, input_signature=[tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.int32)])
    np.testing.assert_array_equal(signature(tf.constant(2), tf.constant(5)).numpy(), model.sample(2, seed=5).numpy())


def test_positions_get_fresh_randomness(model):
    """With uniform logits, every position is an independent uniform draw (no reused noise)."""
    uniform = GatedPixelCNN(**TINY)
    uniform.build()
    uniform.set_weights([np.zeros_like(w) for w in model.get_weights()])
    grids = uniform.sample(20, seed=3).numpy()
    assert len(np.unique(grids.reshape(20, -1), axis=1)) > 1 and len(np.unique(grids[:, 0, 0])) > 1
    counts = np.bincount(grids.reshape(-1), minlength=TINY["num_codes"])
    assert counts.min() > 0.6 * counts.mean()


def test_fit_learns_a_fixed_pattern_and_sampling_reproduces_it():
    keras.utils.set_random_seed(0)
    model = GatedPixelCNN(**(TINY | {"num_blocks": 2}))  # the row above is all it needs to see
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    # Two patterns: each row is all one code, alternating 1 and 3 down the grid, or 2 everywhere.
    stripes = np.tile(np.array([1, 3, 1, 3, 1, 3, 1])[:, None], (1, 7))
    grids = np.stack([stripes, np.full((7, 7), 2)] * 8).astype(np.int32)
    history = model.fit(grids, epochs=40, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.1 * history.history["loss"][0]
    samples = model.sample(8, seed=0, temperature=0.5).numpy()
    assert all(np.array_equal(s, stripes) or np.array_equal(s, np.full((7, 7), 2)) for s in samples)


def test_keras_round_trip_gives_identical_logits(tmp_path, model):
    grid = np.random.default_rng(2).integers(0, TINY["num_codes"], size=(2, 7, 7))
    model.save(tmp_path / "prior.keras")
    loaded = keras.saving.load_model(tmp_path / "prior.keras")
    assert isinstance(loaded, GatedPixelCNN) and loaded.get_config() == model.get_config()
    np.testing.assert_allclose(loaded(grid).numpy(), model(grid).numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(loaded.sample(2, seed=1).numpy(), model.sample(2, seed=1).numpy())


def test_get_config_lists_every_constructor_argument(model):
    import inspect

    arguments = [name for name, p in inspect.signature(GatedPixelCNN.__init__).parameters.items()
                 if p.kind is p.POSITIONAL_OR_KEYWORD and name != "self"]
    assert set(arguments) <= set(model.get_config())


def test_even_kernels_are_refused():
    with pytest.raises(ValueError, match="odd"):
        GatedPixelCNN(kernel_size=4)
