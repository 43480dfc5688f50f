"""Exceptions and warnings raised by the package."""

__all__ = ["TrainingDivergedError", "DivergenceWarning"]


class TrainingDivergedError(FloatingPointError):
    """Training produced a non-finite loss; the message names the loss and epoch."""


class DivergenceWarning(UserWarning):
    """Training diverged and the best weights seen by early stopping were restored."""
