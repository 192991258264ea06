"""A callback that ramps the VAE family's KL weight up from zero."""

from __future__ import annotations

from typing import Any

import keras

from aezoo.models.capabilities import KL_TERM, has


class KLWarmup(keras.callbacks.Callback):
    """KL warm-up (Bowman et al. 2016; Sønderby et al. 2016): weigh the KL term by
    ``beta * min(1, epoch / warmup_epochs)`` at the start of each epoch.

    Epoch 0 trains on the reconstruction alone, and the weight reaches the model's ``beta`` at
    epoch ``warmup_epochs``. Early in training the KL term is easy to lower by ignoring the code
    altogether (posterior collapse); starting without it lets the decoder learn to use the code
    first. The epoch number comes from ``fit``, so a run resumed by ``BackupAndRestore`` continues
    the ramp where it stopped. Models without a ``kl_weight`` (the plain autoencoder, the U-Net)
    are left alone, and ``warmup_epochs=0`` changes nothing.

    ``schedule`` records ``(epoch, weight)`` for each epoch of the current ``fit``, and the weight
    is logged as ``kl_weight`` so it reaches the history.
    """

    def __init__(self, warmup_epochs: int) -> None:
        super().__init__()
        if isinstance(warmup_epochs, bool) or not isinstance(warmup_epochs, int) or warmup_epochs < 0:
            raise ValueError(f"warmup_epochs must be an integer >= 0, got {warmup_epochs!r}")
        self.warmup_epochs = warmup_epochs
        self.schedule: list[tuple[int, float]] = []

    def weight(self, epoch: int) -> float:
        """The KL weight for ``epoch`` (counted from 0)."""
        beta = float(self.model.beta)
        if self.warmup_epochs == 0:
            return beta
        return beta * min(1.0, epoch / self.warmup_epochs)

    def _applies(self) -> bool:
        return has(self.model, KL_TERM)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.schedule = []

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self._applies():
            value = self.weight(epoch)
            self.model.kl_weight.assign(value)
            self.schedule.append((epoch, value))

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        if self._applies():
            logs["kl_weight"] = float(self.model.kl_weight.numpy())

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        # Whatever happened (stopped early, interrupted), the trained model weighs the KL by beta.
        if self._applies():
            self.model.kl_weight.assign(float(self.model.beta))
