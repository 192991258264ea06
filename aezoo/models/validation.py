"""Argument checks shared by the models: fail at construction with a message naming the value."""

from __future__ import annotations

import math

import keras


def check_positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        # Integral floats from JSON configs or the tuner are fine; anything else is a mistake.
        if isinstance(value, float) and value.is_integer() and value >= 1:
            return int(value)
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def check_non_negative(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def check_activation(value: object) -> str:
    try:
        keras.activations.get(value)
    except (ValueError, TypeError):
        raise ValueError(f"activation must name a Keras activation such as 'relu' or 'gelu', got {value!r}") from None
    if not isinstance(value, str):
        raise ValueError(f"activation must be given by name (a string) so it can be saved, got {value!r}")
    return value
