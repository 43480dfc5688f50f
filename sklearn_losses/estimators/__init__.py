"""scikit-learn estimators whose loss is a constructor parameter."""

from ._classifier import LossClassifier

__all__ = ["LossClassifier"]
