"""Tiny tf.Modules: a linear model with a declared input signature, and one over strings."""
from __future__ import annotations

import tensorflow as tf


class Linear(tf.Module):
    """y = x . w for 4 features."""

    def __init__(self) -> None:
        super().__init__()
        self.w = tf.Variable([[1.0], [2.0], [3.0], [4.0]])

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32)])
    def __call__(self, x):
        return tf.matmul(x, self.w)


class StringLength(tf.Module):
    """Byte length of each string."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def __call__(self, x):
        return tf.strings.length(x)
