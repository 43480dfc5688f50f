"""Batch plans: which training rows go together in each batch of an epoch.

A batch plan is a small object with scikit-learn parameters whose
:meth:`BatchPlan.batches` turns the training targets (and, for plans that keep
groups together, a group id per row) into the index batches of one epoch. The
estimators take one as ``batch_sampler=`` (a name or a float is turned into
one); the training engine gathers the epoch's rows once and cuts them into the
plan's batches, so any plan trains as fast as contiguous slices.
"""

from __future__ import annotations

import math
import numbers

import torch
from sklearn.base import BaseEstimator

__all__ = [
    "BatchPlan",
    "ClassShareBatches",
    "GroupBatches",
    "MPerClassBatches",
    "RandomBatches",
    "StratifiedBatches",
    "epoch_indices",
    "group_chunks",
    "proportion_epoch_length",
    "proportion_permutation",
    "stratified_permutation",
]


class BatchPlan(BaseEstimator):
    """Base class of batch plans: the index batches of one training epoch.

    Subclass it and implement :meth:`batches` to write your own plan; give it
    plain constructor parameters, like any scikit-learn object, so that
    ``clone`` and ``get_params`` work. A plan that needs a group id per row
    declares ``requires = ("groups",)``; the estimator then takes ``groups=``
    in ``fit`` and refuses to fit without it.

    Examples
    --------
    A plan that cuts the rows in label order, without shuffling:

    >>> import torch
    >>> from sklearn_losses.sampling import BatchPlan
    >>> class SortedBatches(BatchPlan):
    ...     def batches(self, y, groups, batch_size, generator):
    ...         return torch.argsort(y, stable=True).split(batch_size)
    >>> y = torch.tensor([1, 0, 1, 0, 1])
    >>> [b.tolist() for b in SortedBatches().batches(y, None, 2, torch.Generator())]
    [[1, 3], [0, 2], [4]]

    ``LossClassifier(batch_sampler=SortedBatches())`` trains with it.
    """

    #: Per-row inputs the plan needs besides the targets: ``()`` or ``("groups",)``.
    requires: tuple = ()

    #: Whether the plan reads class labels in ``y`` (a regressor refuses it).
    needs_classes: bool = False

    def batches(self, y, groups, batch_size, generator):
        """The index batches of one epoch.

        Parameters
        ----------
        y : torch.Tensor of shape (n,)
            Training targets on the CPU (class indices ``0..K-1`` for
            classifiers).
        groups : torch.Tensor of shape (n,) or None
            A group id per row, when the estimator was given ``groups``.
        batch_size : int
            The rows a batch should hold (``>= 1``).
        generator : torch.Generator
            The only source of randomness: the same generator state gives the
            same epoch.

        Returns
        -------
        iterable of torch.Tensor
            1-D integer tensors of row indices in ``[0, n)``, one per batch, in
            training order. Batches may differ in size, rows may repeat (within
            a batch or across batches) or be left out of an epoch.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement batches(y, groups, batch_size, "
            "generator)."
        )

    def n_batches(self, y, groups, batch_size):
        """Batches per epoch: those of an epoch drawn from a generator seeded
        with 0 (an estimate when it varies from epoch to epoch)."""
        generator = torch.Generator().manual_seed(0)
        return len(epoch_indices(self, y, groups, batch_size, generator)[1])


class RandomBatches(BatchPlan):
    """Contiguous slices of one random permutation of the rows.

    Every row once per epoch; every batch holds ``batch_size`` rows, the last one
    the rest.

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.sampling import RandomBatches
    >>> batches = RandomBatches().batches(
    ...     torch.zeros(10), None, 4, torch.Generator().manual_seed(0))
    >>> [len(b) for b in batches]
    [4, 4, 2]
    """

    def batches(self, y, groups, batch_size, generator):
        return torch.randperm(y.shape[0], generator=generator).split(batch_size)


class StratifiedBatches(BatchPlan):
    """Batches that hold every class in proportion.

    Contiguous slices of :func:`stratified_permutation`: every row once per
    epoch, and a batch of ``b`` rows holds about ``b n_c / n`` rows of class
    ``c``: ``floor`` or ``ceil`` of it for two classes (at least one when
    ``n_c >= n / b``), within one of it for more. For batch-level
    losses (AnyLoss, AUC-type losses) that need both classes in every batch.

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.sampling import StratifiedBatches
    >>> y = torch.tensor([0] * 80 + [1] * 20)
    >>> batches = StratifiedBatches().batches(
    ...     y, None, 10, torch.Generator().manual_seed(0))
    >>> [int(y[b].sum()) for b in batches]
    [2, 2, 2, 2, 2, 2, 2, 2, 2, 2]
    """

    needs_classes = True

    def batches(self, y, groups, batch_size, generator):
        return stratified_permutation(y, generator).split(batch_size)


class ClassShareBatches(BatchPlan):
    """Batches in which every class fills a fixed share.

    Class ``c`` fills a share ``shares[c]`` of every batch (LibAUC's
    ``DualSampler``, for any number of classes). An epoch has
    ``max_c ceil(n_c / shares[c])`` rows: the class that sets it is drawn once,
    the others are cycled through fresh shuffles of their rows (rare classes
    repeat). See :func:`proportion_permutation`.

    Parameters
    ----------
    shares : "balanced" or sequence of float, default="balanced"
        ``"balanced"``: equal shares of the classes ``0..max(y)``. A sequence:
        one positive share per class index, summing to 1 (``(0.7, 0.3)`` puts
        30 % of class 1 in every batch).

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.sampling import ClassShareBatches
    >>> y = torch.tensor([0] * 90 + [1] * 10)
    >>> batches = ClassShareBatches().batches(
    ...     y, None, 20, torch.Generator().manual_seed(0))
    >>> [int(y[b].sum()) for b in batches]  # 180 rows, 10 positives per batch
    [10, 10, 10, 10, 10, 10, 10, 10, 10]
    """

    needs_classes = True

    def __init__(self, shares="balanced"):
        self.shares = shares

    def batches(self, y, groups, batch_size, generator):
        shares = self._class_shares(y)
        return proportion_permutation(y, shares, generator).split(batch_size)

    def _class_shares(self, y):
        counts = torch.bincount(y)
        if isinstance(self.shares, str) and self.shares == "balanced":
            shares = (1.0 / counts.shape[0],) * counts.shape[0]
        else:
            shares = self._check_shares()
        if counts.shape[0] > len(shares):
            raise ValueError(
                f"{self!r} gives shares to {len(shares)} classes; the target has "
                f"class indices up to {counts.shape[0] - 1}."
            )
        counts = torch.bincount(y, minlength=len(shares))
        absent = torch.nonzero(counts == 0).flatten().tolist()
        if absent:
            raise ValueError(
                f"{self!r} needs every class among the training rows; class "
                f"indices {absent} have none."
            )
        return shares

    def _check_shares(self):
        shares = self.shares
        ok = (
            isinstance(shares, list | tuple)
            and len(shares) >= 2
            and all(
                isinstance(s, numbers.Real) and not isinstance(s, bool) and s > 0
                for s in shares
            )
            and math.isclose(sum(shares), 1.0, abs_tol=1e-6)
        )
        if not ok:
            raise ValueError(
                "ClassShareBatches: shares must be 'balanced' or a sequence of at "
                f"least 2 floats > 0 summing to 1, one per class; got {shares!r}."
            )
        return tuple(float(s) for s in shares)


class GroupBatches(BatchPlan):
    """Whole groups per batch: every row of a group in the same batch.

    Each epoch the groups are shuffled and packed in that order: a group joins
    the current batch while the batch stays within ``batch_size`` rows,
    otherwise it starts the next batch. A group is never split, so every group
    is in exactly one batch per epoch (its rows in their data order), and a
    batch holds several whole groups (queries of a ranking task, sets, bags).
    A group larger than ``batch_size`` is an error, or with
    ``oversized="alone"`` a batch of its own.

    Needs ``groups`` (``fit(X, y, groups=...)``): one id per row.

    Parameters
    ----------
    oversized : {"error", "alone"}, default="error"
        What a group of more than ``batch_size`` rows does: raise
        ``ValueError``, or go in a batch of its own (larger than
        ``batch_size``).

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.sampling import GroupBatches
    >>> groups = torch.tensor([0, 0, 0, 1, 1, 2, 3, 3])
    >>> batches = GroupBatches().batches(
    ...     torch.zeros(8), groups, 4, torch.Generator().manual_seed(0))
    >>> [sorted(set(groups[b].tolist())) for b in batches]
    [[0], [1, 3], [2]]
    """

    requires = ("groups",)

    def __init__(self, oversized="error"):
        self.oversized = oversized

    def batches(self, y, groups, batch_size, generator):
        if groups is None:
            raise ValueError(
                f"{self!r} needs groups: pass groups= (one group id per sample) to fit."
            )
        if self.oversized not in ("error", "alone"):
            raise ValueError(
                f"oversized must be 'error' or 'alone'; got {self.oversized!r}."
            )
        ids, members = _group_members(groups)
        sizes = torch.tensor([len(rows) for rows in members])
        if self.oversized == "error" and int(sizes.max()) > batch_size:
            big = int(torch.argmax(sizes))
            raise ValueError(
                f"{self!r}: group {ids[big].item()!r} has {int(sizes[big])} rows, "
                f"more than batch_size={batch_size} (the rows of a batch; a group "
                f"is never split); {int((sizes > batch_size).sum())} group(s) are "
                f"larger. Use batch_size >= {int(sizes[big])}."
            )
        order = torch.randperm(len(members), generator=generator).tolist()
        epoch = torch.cat([members[g] for g in order])
        return epoch.split(_pack([len(members[g]) for g in order], batch_size))


class MPerClassBatches(BatchPlan):
    """Batches of ``m`` rows of each of several classes (metric learning).

    Every batch holds ``m`` rows of each of ``batch_size // m`` distinct classes
    (all classes when there are fewer), as pytorch-metric-learning's
    ``MPerClassSampler``: the classes of a batch are drawn uniformly, so rare
    classes appear as often as frequent ones, and each class deals its rows
    from a fresh shuffle, reshuffled when used up. An epoch has
    ``ceil(n / (k m))`` batches of ``k m`` rows, with ``k`` classes per batch.
    Every class with rows needs at least ``m`` of them (no row repeats within
    a batch).

    Parameters
    ----------
    m : int, default=4
        Rows of each class in a batch, ``>= 1``.

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.sampling import MPerClassBatches
    >>> y = torch.tensor([0, 0, 1, 1, 1, 2, 2, 2, 2])
    >>> batches = MPerClassBatches(m=2).batches(
    ...     y, None, 4, torch.Generator().manual_seed(0))
    >>> [torch.unique(y[b], return_counts=True)[1].tolist() for b in batches]
    [[2, 2], [2, 2], [2, 2]]
    """

    needs_classes = True

    def __init__(self, m=4):
        self.m = m

    def batches(self, y, groups, batch_size, generator):
        m = self.m
        if not (isinstance(m, numbers.Integral) and not isinstance(m, bool) and m >= 1):
            raise ValueError(f"MPerClassBatches: m must be an int >= 1; got {m!r}.")
        if batch_size < m:
            raise ValueError(
                f"{self!r} needs batch_size >= m={m} (m rows of a class per batch); "
                f"got batch_size={batch_size}."
            )
        counts = torch.bincount(y)
        classes = torch.nonzero(counts).flatten()
        small = classes[counts[classes] < m]
        if small.numel():
            raise ValueError(
                f"{self!r}: class indices {small.tolist()} have fewer than m={m} "
                f"rows (fewest: {int(counts[small].min())}); lower m."
            )
        n_classes = classes.shape[0]
        k = min(batch_size // m, n_classes)
        n_batches = -(-y.shape[0] // (k * m))
        # The k classes of each batch: the first k of a random order of classes.
        keys = torch.rand(n_batches, n_classes, generator=generator)
        chosen = keys.argsort(dim=1)[:, :k].reshape(-1)
        # Each class deals m rows per draw from its cycled shuffles.
        draws = torch.bincount(chosen, minlength=n_classes)
        members = torch.argsort(y, stable=True).split(counts.tolist())
        decks = []
        for j, c in enumerate(classes.tolist()):
            rows, need = members[c], int(draws[j]) * m
            # Whole draws of m rows from each shuffle, so that no draw takes a
            # row twice (it would, crossing into the next shuffle).
            usable = rows.shape[0] // m * m
            shuffles = [
                rows[torch.randperm(rows.shape[0], generator=generator)][:usable]
                for _ in range(-(-need // usable))
            ]
            decks.append(torch.cat(shuffles)[:need] if shuffles else rows[:0])
        deck_start = torch.cumsum(draws * m, 0) - draws * m
        # The r-th draw of class j takes rows r*m .. r*m+m-1 of its deck.
        by_class = torch.argsort(chosen, stable=True)
        first_draw = torch.cumsum(draws, 0) - draws
        rank = torch.empty_like(chosen)
        rank[by_class] = torch.arange(chosen.shape[0]) - first_draw[chosen[by_class]]
        start = deck_start[chosen] + rank * m
        epoch = torch.cat(decks)[start[:, None] + torch.arange(m)].reshape(-1)
        return epoch.split(k * m)


# -- the epoch as the engine uses it ---------------------------------------------
def epoch_indices(plan, y, groups, batch_size, generator):
    """The epoch of ``plan`` as one index tensor and its batch sizes.

    Checks what the plan returned (1-D integer indices in ``[0, n)``) and drops
    empty batches, so the engine can gather the epoch's rows once and cut them
    into contiguous batches.

    Returns
    -------
    order : torch.Tensor of shape (sum(sizes),)
        The row indices of all batches, in training order (int64).
    sizes : list of int
        The rows of each batch, all ``>= 1``.
    """
    batches = [
        torch.as_tensor(b) for b in plan.batches(y, groups, batch_size, generator)
    ]
    wrong = [tuple(b.shape) for b in batches if b.ndim != 1]
    if wrong:
        raise TypeError(
            f"{plan!r}.batches must yield 1-D tensors of row indices; got one of "
            f"shape {wrong[0]}."
        )
    batches = [b for b in batches if b.shape[0]]
    if not batches:
        raise ValueError(f"{plan!r}.batches gave no rows to train on.")
    order = batches[0] if len(batches) == 1 else torch.cat(batches)
    if order.dtype.is_floating_point or order.is_complex() or order.dtype == torch.bool:
        raise TypeError(
            f"{plan!r}.batches must yield integer row indices; got dtype {order.dtype}."
        )
    order = order.long()
    n = y.shape[0]
    low, high = int(order.min()), int(order.max())
    if low < 0 or high >= n:
        raise ValueError(
            f"{plan!r}.batches gave row index {low if low < 0 else high}; the "
            f"training rows are 0..{n - 1}."
        )
    return order, [b.shape[0] for b in batches]


def group_chunks(groups, max_rows):
    """Row indices in chunks of whole groups, for prediction.

    Groups in the order of their ids, packed as :class:`GroupBatches` packs
    them (a chunk holds whole groups up to ``max_rows`` rows; a larger group is
    a chunk of its own).

    Returns
    -------
    list of torch.Tensor
        1-D int64 row indices; every row in exactly one chunk.
    """
    _, members = _group_members(groups)
    rows = torch.cat(members)
    return list(rows.split(_pack([len(g) for g in members], max_rows)))


def _group_members(groups):
    """(group ids, row indices of each group in data order)."""
    ids, inverse, counts = torch.unique(groups, return_inverse=True, return_counts=True)
    rows = torch.argsort(inverse, stable=True)
    return ids, rows.split(counts.tolist())


def _pack(sizes, budget):
    """Batch sizes of next-fit packing: items join the current batch while its
    rows stay within ``budget``; an item never splits (an oversized one goes
    alone)."""
    out, current = [], 0
    for size in sizes:
        if current and current + size > budget:
            out.append(current)
            current = 0
        current += size
    out.append(current)
    return out


# -- permutations -------------------------------------------------------------------
def stratified_permutation(y, generator):
    """A permutation whose contiguous blocks hold every class in proportion.

    Rows are shuffled within their class, each class is spread evenly over the
    permutation (row ``r`` of class ``c`` gets the key ``(r + u_c) / n_c`` with a
    random offset ``u_c``), and the keys are sorted. Any block of ``b`` rows
    then holds about ``b n_c / n`` rows of class ``c``: for two classes ``floor``
    or ``ceil`` of it (at least one when ``n_c >= n / b``); for more classes
    within one of it, so a class with ``n_c`` close to ``n / b`` can miss a
    block.

    Parameters
    ----------
    y : torch.Tensor of shape (n,)
        Class indices (CPU).
    generator : torch.Generator

    Returns
    -------
    torch.Tensor of shape (n,)
    """
    n = y.shape[0]
    shuffled = torch.randperm(n, generator=generator)
    grouped = shuffled[torch.argsort(y[shuffled], stable=True)]
    cls = y[grouped]
    counts = torch.bincount(y)
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.arange(n) - starts[cls]
    offset = torch.rand(counts.shape[0], generator=generator, dtype=torch.float64)
    key = (rank.double() + offset[cls]) / counts[cls].double()
    return grouped[torch.argsort(key)]


def proportion_epoch_length(y, proportions):
    """Rows of an epoch with fixed class shares: ``max_c ceil(n_c / share_c)``."""
    counts = torch.bincount(y, minlength=len(proportions)).double()
    share = torch.as_tensor(proportions, dtype=torch.float64)
    return int(torch.ceil((counts / share).max() - 1e-9))


def proportion_permutation(y, proportions, generator):
    """An epoch of row indices whose contiguous blocks hold fixed class shares.

    Class ``c`` fills a share ``proportions[c]`` of every block (LibAUC's
    ``DualSampler`` idea, for any number of classes). The epoch has
    ``m = max_c ceil(n_c / proportions[c])`` rows, so every row is drawn at
    least once: the class that sets ``m`` is drawn once, the others are cycled
    through fresh shuffles of their rows (repeated when they are rarer than
    their share asks). Within the epoch the classes are interleaved evenly as
    in :func:`stratified_permutation`.

    Parameters
    ----------
    y : torch.Tensor of shape (n,)
        Class indices (CPU); every class must be present.
    proportions : sequence of float
        One share per class, positive, summing to 1.
    generator : torch.Generator

    Returns
    -------
    torch.Tensor of shape (m,)
    """
    m = proportion_epoch_length(y, proportions)
    share = torch.as_tensor(proportions, dtype=torch.float64)
    counts = torch.bincount(y, minlength=len(proportions))
    # share * m >= n_c for every class (the rule for m): floor it, never below
    # the class's rows, and give the rows left by largest remainder.
    exact = share * m
    draws = torch.maximum(torch.floor(exact + 1e-9).long(), counts)
    rest = m - int(draws.sum())
    if rest > 0:
        remainder = exact - torch.floor(exact + 1e-9)
        draws[torch.argsort(-remainder, stable=True)[:rest]] += 1
    parts, keys = [], []
    for c in range(len(proportions)):
        k = int(draws[c])
        if k <= 0:
            continue
        rows = torch.nonzero(y == c).flatten()
        reps = -(-k // rows.shape[0])
        cycled = torch.cat(
            [
                rows[torch.randperm(rows.shape[0], generator=generator)]
                for _ in range(reps)
            ]
        )[:k]
        offset = torch.rand(1, generator=generator, dtype=torch.float64)
        parts.append(cycled)
        keys.append((torch.arange(k, dtype=torch.float64) + offset) / k)
    order = torch.argsort(torch.cat(keys))
    return torch.cat(parts)[order]
