"""The two reference models, written the way a textbook or a homework would write them.

Nothing here uses aezoo's model classes: plain ``keras.Sequential`` / functional models, a
built-in loss in ``compile`` and the built-in ``fit`` (no custom ``train_step``). They are fed the
same ``(noisy, clean)`` batches from :func:`aezoo.datasets.training_dataset` as aezoo's models, so
the only differences the benchmark sees are the models and their training step.
"""

from __future__ import annotations

import keras

REFERENCE_KINDS = ("textbook", "kerasio")

DESCRIPTIONS = {
    "textbook": "homework AE: keras.Sequential, Conv2D 32/64 s2, Dense 10-d bottleneck, "
                "Conv2DTranspose 64/32 s2, MSE, built-in fit",
    "kerasio": "keras.io denoising AE: Conv2D(32)+MaxPool x2, Conv2DTranspose(32) s2 x2, "
               "no bottleneck, binary cross-entropy, built-in fit",
}


def textbook_autoencoder(embedding_dim: int = 10) -> keras.Sequential:
    """The homework convolutional autoencoder with a dense ``embedding_dim`` bottleneck.

    28x28 -> Conv2D(32, s2) -> Conv2D(64, s2) -> Flatten -> Dense(10) -> Dense(7*7*64) ->
    Conv2DTranspose(64, s2) -> Conv2DTranspose(32, s2) -> Conv2D(1, sigmoid): about 140k
    parameters for a 10-d code. It is the same layer stack as aezoo's ``ConvAutoencoder`` at
    ``filters=32, depth=1`` without batch normalisation, which is what makes the throughput
    comparison a comparison of training steps and not of architectures.
    """
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu"),
        keras.layers.Conv2D(64, 3, strides=2, padding="same", activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(embedding_dim),
        keras.layers.Dense(7 * 7 * 64, activation="relu"),
        keras.layers.Reshape((7, 7, 64)),
        keras.layers.Conv2DTranspose(64, 3, strides=2, padding="same", activation="relu"),
        keras.layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu"),
        keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid"),
    ], name="textbook")


def kerasio_autoencoder() -> keras.Model:
    """The denoising autoencoder of the keras.io example "Convolutional autoencoder for image denoising".

    Copied layer for layer (functional API, ``Conv2D`` + ``MaxPooling2D`` twice down,
    ``Conv2DTranspose(strides=2)`` twice up): about 28k parameters and a 7x7x32 = 1568-number
    "code", so it has no real bottleneck, which is why it denoises better than a 10-d model.
    """
    inputs = keras.Input(shape=(28, 28, 1))
    x = keras.layers.Conv2D(32, (3, 3), activation="relu", padding="same")(inputs)
    x = keras.layers.MaxPooling2D((2, 2), padding="same")(x)
    x = keras.layers.Conv2D(32, (3, 3), activation="relu", padding="same")(x)
    x = keras.layers.MaxPooling2D((2, 2), padding="same")(x)
    x = keras.layers.Conv2DTranspose(32, (3, 3), strides=2, activation="relu", padding="same")(x)
    x = keras.layers.Conv2DTranspose(32, (3, 3), strides=2, activation="relu", padding="same")(x)
    outputs = keras.layers.Conv2D(1, (3, 3), activation="sigmoid", padding="same")(x)
    return keras.Model(inputs, outputs, name="kerasio")


def build_reference(kind: str, learning_rate: float = 1e-3, embedding_dim: int = 10,
                    jit_compile: bool | str = "auto") -> keras.Model:
    """A compiled reference model: Adam at ``learning_rate`` and the loss its source uses."""
    if kind == "textbook":
        model, loss = textbook_autoencoder(embedding_dim), "mse"
    elif kind == "kerasio":
        model, loss = kerasio_autoencoder(), "binary_crossentropy"
    else:
        raise ValueError(f"unknown reference {kind!r}; choose one of {', '.join(REFERENCE_KINDS)}")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss, jit_compile=jit_compile)
    return model
