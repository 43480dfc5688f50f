"""Online learners: log-barrier FTRL over a finite set of actions, and a neural
contextual bandit.

:class:`LogBarrierFTRL` learns a distribution over ``K`` actions from
full-information or bandit feedback; :func:`log_barrier_distribution` is its
map from cumulative (estimated) losses to probabilities, usable as an
allocation rule by other policies.

:class:`NeuralContextualBandit` is a contextual bandit whose reward model is an
MLP trained online (squared or KL loss) with SquareCB, FastCB or log-barrier
FTRL action selection (:func:`squarecb_probabilities`,
:func:`fastcb_probabilities`); :class:`ClassificationBandit` turns a
classification table into a bandit problem and :func:`run_bandit` plays a
policy on it, returning the cumulative regret.
"""

from ._bandit import (
    NeuralContextualBandit,
    fastcb_probabilities,
    squarecb_probabilities,
)
from ._ftrl import LogBarrierFTRL, log_barrier_distribution
from ._simulator import ClassificationBandit, run_bandit

__all__ = [
    "LogBarrierFTRL",
    "log_barrier_distribution",
    "ClassificationBandit",
    "NeuralContextualBandit",
    "fastcb_probabilities",
    "run_bandit",
    "squarecb_probabilities",
]
