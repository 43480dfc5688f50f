"""Set encoders: every row scored in the context of its set (its query).

:class:`ReadProcessWrite` is the Read-Process-Write block of Order Matters
(Vinyals, Bengio and Kudlur, ICLR 2016) used as a scorer: it reads each row,
summarises the whole set with Set2Set attention and writes one score per row
from the row and that summary. :class:`GroupwiseScorer` is GroupRank's
groupwise paradigm (Sun et al., arXiv 2511.11653) on tables: a query is cut
into random groups, each row is scored in the context of its group, and at
prediction time the scores of several random partitions are averaged.
"""

from __future__ import annotations

import torch
from torch import nn

from .._validation import integer, real, validate_params
from ._packing import pack_lists, unpack_lists
from .mlp import MLP

__all__ = ["Set2Set", "ReadProcessWrite", "GroupwiseScorer", "random_partition"]


class Set2Set(nn.Module):
    """Order-invariant summary of a set by ``T`` steps of attention (Process).

    .. math::

        q_t = \\mathrm{LSTM}(q^*_{t-1}), \\quad
        a_{i,t} = \\operatorname{softmax}_i(m_i \\cdot q_t), \\quad
        r_t = \\sum_i a_{i,t} m_i, \\quad q^*_t = [q_t ; r_t]

    with ``q*_0 = 0`` and an ``nn.LSTMCell(2d, d)`` that has no other input.
    The softmax runs over the real items of each set only (padded slots are
    never attended), so ``q*_T`` (of width ``2d``) does not depend on the order
    of the items nor on padding. With ``processing_steps=0`` it is ``0``.

    Parameters
    ----------
    dim : int
        Width ``d`` of the item memories ``m_i``.
    processing_steps : int
        Number of attention steps ``T``.

    Examples
    --------
    >>> import torch
    >>> memory, mask = torch.randn(2, 5, 8), torch.ones(2, 5, dtype=torch.bool)
    >>> Set2Set(8, 3)(memory, mask).shape
    torch.Size([2, 16])
    """

    def __init__(self, dim, processing_steps):
        super().__init__()
        self.dim = dim
        self.processing_steps = processing_steps
        self.lstm = nn.LSTMCell(2 * dim, dim)

    def forward(self, memory, mask):
        """``q*_T`` of shape ``(B, 2d)`` from memories ``(B, L, d)`` and a bool
        mask ``(B, L)`` of real items."""
        n_sets = memory.shape[0]
        q_star = memory.new_zeros(n_sets, 2 * self.dim)
        state = None
        fill = torch.finfo(memory.dtype).min / 4
        for _ in range(self.processing_steps):
            h, c = self.lstm(q_star, state)
            state = (h, c)
            energy = (memory * h.unsqueeze(1)).sum(-1).masked_fill(~mask, fill)
            attention = torch.softmax(energy, dim=-1).masked_fill(~mask, 0.0)
            read = (attention.unsqueeze(-1) * memory).sum(1)
            q_star = torch.cat([h, read], dim=-1)
        return q_star


class ReadProcessWrite(nn.Module):
    """Read-Process-Write set encoder as a per-row scorer.

    - Read: the same MLP embeds every row, ``m_i = MLP(x_i)`` (width ``d``);
    - Process: :class:`Set2Set` over the set, ``T = process_steps`` steps of
      masked dot-product attention, gives ``q*_T`` (width ``2d``), invariant to
      the order of the set's rows;
    - Write: a per-row head scores ``[m_i ; q*_T]``, ``s_i = MLP([m_i ; q*_T])``.

    The scores are permutation-equivariant: permuting the rows of a set
    permutes their scores. The sets are the rows sharing an id in ``groups``
    (rows of a set anywhere in the batch); ``groups=None`` makes the whole
    input one set. A set of one row is scored from itself alone.

    Parameters
    ----------
    n_features : int
        Input width (set by the estimator from ``X``).
    hidden_dim : int, default=64
        Width ``d`` of the memories ``m_i`` and of the hidden layers.
    process_steps : int, default=5
        Set2Set attention steps ``T``; 0 leaves the writer unconditioned
        (``q*_0 = 0``), the paper's weak "P = 0" setting.
    n_write_layers : int, default=1
        Hidden layers (of width ``hidden_dim``) of the write head; 0 makes it
        linear.
    dropout : float, default=0.0
        Dropout after each hidden activation of the read and write MLPs.

    References
    ----------
    O. Vinyals, S. Bengio, M. Kudlur. Order Matters: Sequence to sequence for
    sets. ICLR 2016.

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> net = ReadProcessWrite(3, hidden_dim=8, process_steps=2)
    >>> x, groups = torch.randn(5, 3), torch.tensor([0, 0, 1, 1, 1])
    >>> net(x, groups=groups).shape
    torch.Size([5, 1])
    """

    takes_groups = True
    n_outputs = 1

    def __init__(
        self,
        n_features,
        *,
        hidden_dim=64,
        process_steps=5,
        n_write_layers=1,
        dropout=0.0,
    ):
        super().__init__()
        self.n_features = n_features
        self.hidden_dim = hidden_dim
        self.process_steps = process_steps
        self.n_write_layers = n_write_layers
        self.dropout = dropout
        validate_params(
            self,
            {
                "n_features": integer(1),
                "hidden_dim": integer(1),
                "process_steps": integer(0),
                "n_write_layers": integer(0),
                "dropout": real(0, 1, closed="left"),
            },
        )
        self.read = MLP(n_features, hidden_dim, (hidden_dim,), dropout=dropout)
        self.process = Set2Set(hidden_dim, process_steps)
        self.write = MLP(
            3 * hidden_dim, 1, (hidden_dim,) * n_write_layers, dropout=dropout
        )

    def memories(self, x):
        """Read: ``m_i`` of shape ``(..., d)`` for rows ``(..., n_features)``."""
        return self.read(x).reshape(*x.shape[:-1], self.hidden_dim)

    def set_embedding(self, x, mask):
        """Process: ``q*_T`` ``(B, 2d)`` of packed sets ``x`` ``(B, L, f)``."""
        return self.process(self.memories(x), mask)

    def score_sets(self, x, mask):
        """Scores ``(B, L)`` of packed sets ``x`` ``(B, L, n_features)`` with a
        bool ``mask`` ``(B, L)`` of real rows (padded slots hold anything;
        their scores are meaningless)."""
        memory = self.memories(x)
        summary = self.process(memory, mask)
        summary = summary.unsqueeze(1).expand(-1, memory.shape[1], -1)
        return self.write(torch.cat([memory, summary], dim=-1))

    def forward(self, x, groups=None):
        """Scores ``(n, 1)`` of rows ``x`` ``(n, n_features)``, each in the
        context of the rows sharing its id in ``groups`` (``None``: one set)."""
        n = x.shape[0]
        if n == 0:
            return x.new_zeros(0, 1)
        (packed,), mask, rows = pack_lists(groups, x)
        scores = self.score_sets(packed, mask)
        return unpack_lists(scores, mask, rows, n).unsqueeze(-1)

    def rank_scores(self, x, groups=None):
        """One ranking score per row, shape ``(n,)`` (higher is better)."""
        return self.forward(x, groups).reshape(-1)


def random_partition(groups, n, *, sizes=None, max_size=None, min_size=1, keys):
    """Cut each query into random groups of near-equal sizes.

    Each query's rows are ordered by ``keys`` (one uniform draw per row: a
    random shuffle) and cut into ``M`` consecutive groups whose sizes differ by
    at most one. ``M`` is ``round(n_q / c)`` for a target size ``c`` per query
    (``sizes``), clipped so that every group holds between ``min_size`` and
    ``max_size`` rows; where no ``M`` fits both bounds (only when
    ``max_size < 2 * min_size - 1``) the groups keep at least ``min_size`` rows.
    A query with fewer than ``2 * min_size`` rows (and at most ``max_size``) is
    one group.

    Parameters
    ----------
    groups : torch.Tensor of shape (n,) or None
        Query id per row (``None``: one query).
    n : int
        Number of rows.
    sizes : torch.Tensor of shape (n_queries,), default=None
        Target group size per query, queries in the order of their ids;
        ``None`` uses ``max_size``.
    max_size, min_size : int
        Bounds on the group sizes.
    keys : torch.Tensor of shape (n,)
        Shuffle keys; rows of a query are taken in ascending key order.

    Returns
    -------
    torch.Tensor of shape (n,)
        Group id per row (``0 .. n_groups - 1``, groups of a query together,
        queries in the order of their ids).
    """
    device = keys.device
    if n == 0:
        return torch.zeros(0, dtype=torch.long, device=device)
    if groups is None:
        inverse = torch.zeros(n, dtype=torch.long, device=device)
    else:
        inverse = torch.unique(groups, return_inverse=True)[1].to(device)
    counts = torch.bincount(inverse)
    # Position of each row in its query after the shuffle.
    by_key = torch.argsort(keys, stable=True)
    order = by_key[torch.argsort(inverse[by_key], stable=True)]
    starts = torch.cumsum(counts, 0) - counts
    position = torch.empty_like(inverse)
    position[order] = torch.arange(n, device=device) - starts[inverse[order]]
    target = counts.new_full(counts.shape, max_size) if sizes is None else sizes
    fewest = torch.div(counts + max_size - 1, max_size, rounding_mode="floor")
    most = torch.div(counts, min_size, rounding_mode="floor")
    wanted = torch.round(counts.double() / target.double()).long()
    fitting = torch.minimum(torch.maximum(wanted, fewest), most)
    n_groups = torch.where(fewest <= most, fitting, most.clamp_min(1))
    local = torch.div(
        position * n_groups[inverse], counts[inverse], rounding_mode="floor"
    )
    offsets = torch.cumsum(n_groups, 0) - n_groups
    return offsets[inverse] + local


class GroupwiseScorer(nn.Module):
    """GroupRank's groupwise scorer: rows scored in random groups of their query.

    A :class:`ReadProcessWrite` encoder scores each row in the context of a
    group of rows of its query.

    - Training mode: every forward cuts each query into random groups. Its rows
      are shuffled with torch's global generator (seed it for reproducible
      training), a target size ``c`` is drawn per query uniformly from
      ``[min_group_size, group_size]``, and the query is cut into
      ``round(n_q / c)`` groups of near-equal sizes (differing by at most one),
      the number clipped so every size lies in
      ``[min_group_size, group_size]``: no group falls below
      ``min_group_size`` (>= 2) unless the query itself is that small. The group
      of every row is kept in :attr:`last_groups_` for losses computed per
      group.
    - Eval mode (``forward`` and :meth:`rank_scores`): test-time scaling. Each
      query is cut ``tts_repeats`` times into ``ceil(n_q / group_size)``
      random groups of near-equal sizes and each row's score is the mean over
      the repeats. The partitions come from a local generator seeded with
      ``random_state`` (never the global one): a row's shuffle key depends only
      on ``random_state``, the repeat and the row's position within its query,
      so prediction is deterministic and a query's scores do not depend on the
      other queries predicted with it. :attr:`last_groups_` then holds the
      query index of every row.

    A query of at most ``group_size`` rows is one group at prediction time, so
    with ``tts_repeats=1`` the scores equal the encoder's on the whole query.

    Parameters
    ----------
    n_features : int
        Input width (set by the estimator from ``X``).
    group_size : int, default=20
        Largest group (the prediction group size ``c``; 20 in the paper).
    min_group_size : int, default=5
        Smallest training group (>= 2; the paper trains on sizes 5 to 20).
    tts_repeats : int, default=4
        Random partitions averaged at prediction (gains saturate near 4 in the
        paper).
    random_state : int, default=0
        Seed of the prediction partitions.
    hidden_dim, process_steps, n_write_layers, dropout
        Parameters of the :class:`ReadProcessWrite` encoder.

    Attributes
    ----------
    last_groups_ : torch.Tensor of shape (n,)
        Group id (``int64``) of every row of the last forward.

    References
    ----------
    Sun et al. GroupRank: a groupwise reranking paradigm driven by
    reinforcement learning. arXiv 2511.11653.

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> net = GroupwiseScorer(3, group_size=4, min_group_size=2, hidden_dim=8)
    >>> x, qid = torch.randn(10, 3), torch.tensor([0] * 6 + [1] * 4)
    >>> net(x, groups=qid).shape
    torch.Size([10, 1])
    >>> net.last_groups_.bincount().tolist()  # training groups of 2 to 4 rows
    [3, 3, 4]
    >>> _ = net.eval()
    >>> torch.equal(net.rank_scores(x, qid), net.rank_scores(x, qid))
    True
    """

    takes_groups = True
    n_outputs = 1

    def __init__(
        self,
        n_features,
        *,
        group_size=20,
        min_group_size=5,
        tts_repeats=4,
        random_state=0,
        hidden_dim=64,
        process_steps=5,
        n_write_layers=1,
        dropout=0.0,
    ):
        super().__init__()
        self.group_size = group_size
        self.min_group_size = min_group_size
        self.tts_repeats = tts_repeats
        self.random_state = random_state
        validate_params(
            self,
            {
                "group_size": integer(2),
                "min_group_size": integer(2),
                "tts_repeats": integer(1),
                "random_state": integer(0),
            },
        )
        if min_group_size > group_size:
            raise ValueError(
                f"min_group_size must be <= group_size ({group_size}); got "
                f"{min_group_size}."
            )
        self.encoder = ReadProcessWrite(
            n_features,
            hidden_dim=hidden_dim,
            process_steps=process_steps,
            n_write_layers=n_write_layers,
            dropout=dropout,
        )
        self.last_groups_ = None

    def _n_queries(self, groups):
        return 1 if groups is None else int(torch.unique(groups).numel())

    def training_groups(self, x, groups=None):
        """A random training partition (group id per row), from the global RNG."""
        n = x.shape[0]
        keys = torch.rand(n, device=x.device)
        sizes = torch.randint(
            self.min_group_size,
            self.group_size + 1,
            (self._n_queries(groups),),
            device=x.device,
        )
        return random_partition(
            groups,
            n,
            sizes=sizes,
            max_size=self.group_size,
            min_size=self.min_group_size,
            keys=keys,
        )

    def prediction_groups(self, x, groups=None):
        """The ``tts_repeats`` prediction partitions, ``(tts_repeats, n)``."""
        n = x.shape[0]
        if groups is None:
            position = torch.arange(n, device=x.device)
        else:
            (rows,), mask, _ = pack_lists(groups, torch.arange(n, device=x.device))
            position = torch.empty(n, dtype=torch.long, device=x.device)
            slots = torch.arange(mask.shape[1], device=x.device).expand_as(mask)
            position[rows[mask]] = slots[mask]
        longest = int(position.max()) + 1 if n else 0
        generator = torch.Generator()
        out = []
        for repeat in range(self.tts_repeats):
            generator.manual_seed(self.random_state + repeat)
            draws = torch.rand(longest, generator=generator).to(x.device)
            out.append(
                random_partition(
                    groups, n, max_size=self.group_size, keys=draws[position]
                )
            )
        return torch.stack(out) if out else position.new_zeros(0, n)

    def forward(self, x, groups=None):
        """Scores ``(n, 1)``: one training partition (training mode) or the
        mean over the ``tts_repeats`` prediction partitions (eval mode)."""
        if self.training:
            sub = self.training_groups(x, groups)
            self.last_groups_ = sub
            return self.encoder(x, groups=sub)
        return self.rank_scores(x, groups).unsqueeze(-1)

    def rank_scores(self, x, groups=None):
        """Test-time-scaled scores ``(n,)``: each row's mean over
        ``tts_repeats`` seeded random partitions (deterministic)."""
        n = x.shape[0]
        if groups is None:
            self.last_groups_ = torch.zeros(n, dtype=torch.long, device=x.device)
        else:
            self.last_groups_ = torch.unique(groups, return_inverse=True)[1]
        total = x.new_zeros(n)
        for sub in self.prediction_groups(x, groups):
            total = total + self.encoder(x, groups=sub).reshape(-1)
        return total / self.tts_repeats
