"""The TSPRank network: item embeddings in list context and bilinear pair scores."""

from __future__ import annotations

import numbers

import torch
from torch import nn

from ..losses._lists import pack_lists, unpack_lists
from ..losses.tsprank import _check_dp_max_n, best_paths
from .mlp import MLP

__all__ = ["TSPRankModule"]


def _check_int(name, value, low):
    if not (
        isinstance(value, numbers.Integral)
        and not isinstance(value, bool)
        and value >= low
    ):
        raise ValueError(f"{name} must be an int >= {low}; got {value!r}.")
    return int(value)


class TSPRankModule(nn.Module):
    r"""TSPRank network: embeds the rows of each query, scores every ordered pair.

    ``forward(x, groups)`` gives one embedding :math:`h_i` per row: an MLP
    projection of the features to ``embedding_dim``, then (``n_layers > 0``) a
    Transformer encoder over the rows of each query (padding masked, no
    positional encoding, so a query's rows are a set). ``pair_scores(h,
    groups)`` turns them into directed pair scores

    .. math::

        A_{ij} = h_i^\top W h_j + b,

    the reward for putting item ``j`` immediately after item ``i`` (one
    ``nn.Bilinear(d, d, 1)``, permutation-equivariant). ``rank_scores(x,
    groups)`` ranks each query by its best open path through ``A``
    (:func:`~sklearn_losses.losses.tsprank.best_open_path`: exact up to
    ``dp_max_n`` items) and returns ``n - position`` per row (the first item
    gets ``n - 1``, the last 0), so that higher is better. Train it with
    :class:`~sklearn_losses.losses.TSPRankLoss`.

    Parameters
    ----------
    n_features : int
        Input width (set by the estimator from ``X``).
    embedding_dim : int, default=64
        Width ``d`` of the embeddings (``n_outputs``); a multiple of
        ``n_heads`` when ``n_layers > 0``.
    hidden_layer_sizes : sequence of int, default=(64,)
        Hidden widths of the ReLU projection MLP; empty for a linear one.
    n_layers : int, default=1
        Transformer encoder layers over each query (0: no context).
    n_heads : int, default=4
        Attention heads.
    dim_feedforward : int, default=128
        Width of the encoder's feed-forward layers.
    dropout : float in [0, 1), default=0.1
        Dropout of the projection and the encoder.
    separate_triangles : bool, default=False
        Use the official code's two bilinear comparators: one for the pairs
        ``i < j`` (upper triangle by row order within the query) and one for
        ``i > j``. The scores then depend on the order of the rows; the
        default single comparator does not.
    dp_max_n : int in [1, 20], default=16
        The longest query ``rank_scores`` decodes exactly; longer queries use
        the greedy and local-search heuristic.

    Attributes
    ----------
    n_outputs : int
        ``embedding_dim``.
    takes_groups : bool
        True: the module is called as ``module(x, groups=g)`` with whole
        queries.

    Notes
    -----
    In ``A`` the diagonal (an item after itself) and the rows and columns of
    padded slots are 0; every consumer reads the real items only, through the
    returned mask. All weights with more than one dimension start
    Xavier-uniform, as in the official code.

    References
    ----------
    .. [1] J. Li et al., "TSPRank: Bridging Pairwise and Listwise Methods with
       a Bilinear Travelling Salesman Model", KDD 2025.
       https://arxiv.org/abs/2411.12064

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> module = TSPRankModule(3, embedding_dim=8, n_heads=2).eval()
    >>> x, groups = torch.randn(5, 3), torch.tensor([0, 0, 0, 1, 1])
    >>> module(x, groups=groups).shape
    torch.Size([5, 8])
    >>> A, mask, rows = module.pair_scores(module(x, groups=groups), groups)
    >>> A.shape, mask.tolist()
    (torch.Size([2, 3, 3]), [[True, True, True], [True, True, False]])
    >>> sorted(module.rank_scores(x, groups).tolist())
    [0.0, 0.0, 1.0, 1.0, 2.0]
    """

    takes_groups = True

    def __init__(
        self,
        n_features,
        *,
        embedding_dim=64,
        hidden_layer_sizes=(64,),
        n_layers=1,
        n_heads=4,
        dim_feedforward=128,
        dropout=0.1,
        separate_triangles=False,
        dp_max_n=16,
    ):
        super().__init__()
        _check_int("n_features", n_features, 1)
        _check_int("embedding_dim", embedding_dim, 1)
        _check_int("n_layers", n_layers, 0)
        _check_int("n_heads", n_heads, 1)
        _check_int("dim_feedforward", dim_feedforward, 1)
        try:
            sizes = tuple(hidden_layer_sizes)
        except TypeError:
            sizes = None
        if sizes is None or not all(
            isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 1
            for s in sizes
        ):
            raise ValueError(
                "hidden_layer_sizes must be a sequence of ints >= 1; got "
                f"{hidden_layer_sizes!r}."
            )
        if not (
            isinstance(dropout, numbers.Real)
            and not isinstance(dropout, bool)
            and 0.0 <= dropout < 1.0
        ):
            raise ValueError(f"dropout must be a float in [0, 1); got {dropout!r}.")
        if n_layers and embedding_dim % n_heads:
            raise ValueError(
                f"embedding_dim must be a multiple of n_heads when n_layers > 0; "
                f"got embedding_dim={embedding_dim}, n_heads={n_heads}."
            )
        if not isinstance(separate_triangles, bool):
            raise ValueError(
                f"separate_triangles must be True or False; got {separate_triangles!r}."
            )
        _check_dp_max_n(dp_max_n)
        self.n_features = n_features
        self.embedding_dim = embedding_dim
        self.hidden_layer_sizes = hidden_layer_sizes
        self.n_layers = n_layers
        self.n_heads = n_heads
        self.dim_feedforward = dim_feedforward
        self.dropout = dropout
        self.separate_triangles = separate_triangles
        self.dp_max_n = dp_max_n
        self.n_outputs = embedding_dim
        self.projection = MLP(n_features, embedding_dim, sizes, dropout=dropout)
        self.encoder = None
        if n_layers:
            layer = nn.TransformerEncoderLayer(
                embedding_dim,
                n_heads,
                dim_feedforward=dim_feedforward,
                dropout=dropout,
                batch_first=True,
            )
            self.encoder = nn.TransformerEncoder(
                layer, n_layers, enable_nested_tensor=False
            )
        self.comparator = nn.Bilinear(embedding_dim, embedding_dim, 1)
        self.lower_comparator = (
            nn.Bilinear(embedding_dim, embedding_dim, 1) if separate_triangles else None
        )
        for param in self.parameters():
            if param.dim() > 1:
                nn.init.xavier_uniform_(param)

    def forward(self, x, groups=None):
        """Per-row embeddings ``(n, embedding_dim)``, each in its query's context.

        ``groups`` holds a query id per row (rows of a query anywhere);
        ``None`` makes the whole input one query.
        """
        h = self.projection(x)
        if h.ndim == 1:  # embedding_dim = 1: the MLP drops the last axis
            h = h.unsqueeze(-1)
        if self.encoder is None:
            return h
        (packed,), mask, rows = pack_lists(groups, h)
        packed = self.encoder(packed, src_key_padding_mask=~mask)
        return unpack_lists(packed, mask, rows, h.shape[0])

    def _bilinear(self, comparator, packed):
        weight, bias = comparator.weight[0], comparator.bias[0]
        return torch.einsum("bid,de,bje->bij", packed, weight, packed) + bias

    def pair_scores(self, h, groups=None):
        """Directed pair scores of every query.

        Parameters
        ----------
        h : torch.Tensor of shape (n, embedding_dim)
            The output of :meth:`forward`.
        groups : torch.Tensor of shape (n,), default=None
            Query id per row (None: one query).

        Returns
        -------
        A : torch.Tensor of shape (B, L, L)
            ``A[b, i, j]``: reward for slot ``j`` right after slot ``i`` in
            query ``b`` (queries in id order, rows in batch order); 0 on the
            diagonal and in padded rows and columns.
        mask : torch.Tensor of shape (B, L)
            True for real items.
        rows : torch.Tensor of shape (B, L)
            The batch row of each slot (see
            :func:`~sklearn_losses.losses._lists.unpack_lists`).
        """
        (packed,), mask, rows = pack_lists(groups, h)
        A = self._bilinear(self.comparator, packed)
        if self.lower_comparator is not None:
            lower = self._bilinear(self.lower_comparator, packed)
            A = torch.triu(A) + torch.tril(lower, -1)
        L = A.shape[-1]
        keep = mask[:, :, None] & mask[:, None, :]
        keep = keep & ~torch.eye(L, dtype=torch.bool, device=A.device)
        return A.masked_fill(~keep, 0.0), mask, rows

    def rank_scores(self, x, groups=None):
        """Ranking scores ``(n,)``: ``n - position`` in the query's best path.

        Runs in eval mode without gradient (the module's mode is restored).
        """
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                h = self(x, groups)
                A, mask, rows = self.pair_scores(h, groups)
            paths = best_paths(A, mask, dp_max_n=self.dp_max_n)
        finally:
            self.train(was_training)
        scores = torch.zeros(mask.shape, dtype=h.dtype, device=h.device)
        for b, path in enumerate(paths):
            n = len(path)
            position = torch.as_tensor(path, device=h.device)
            scores[b, position] = torch.arange(
                n - 1, -1, -1, dtype=h.dtype, device=h.device
            )
        return unpack_lists(scores, mask, rows, x.shape[0])
