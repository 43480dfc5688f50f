"""Online learners: log-barrier FTRL over a finite set of actions.

:class:`LogBarrierFTRL` learns a distribution over ``K`` actions from
full-information or bandit feedback; :func:`log_barrier_distribution` is its
map from cumulative (estimated) losses to probabilities, usable as an
allocation rule by other policies.
"""

from ._ftrl import LogBarrierFTRL, log_barrier_distribution

__all__ = [
    "LogBarrierFTRL",
    "log_barrier_distribution",
]
