"""Naive numpy re-implementations of the ranking losses, one list at a time.

Plain loops over items and pairs in the style of the spec's Appendix A, written
independently of ``sklearn_losses.losses.ranking``. Each ``*_list`` function
takes one list's scores ``s`` and labels ``y`` (1-D float arrays) and returns
``(term, count)``: the list's summed term and the units it counts for a mean
(valid pairs, or 1 per list that carries a signal). :func:`reduce_ref`
combines lists as the losses do.
"""

import math
from itertools import permutations

import numpy as np

LN2 = math.log(2.0)


def softplus(x):
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def log_softmax(x):
    m = x.max()
    return x - (m + np.log(np.exp(x - m).sum()))


def logsumexp(values):
    m = max(values)
    return m + math.log(sum(math.exp(v - m) for v in values))


def pairs(y, min_gap=0.0):
    n = len(y)
    return [
        (i, j)
        for i in range(n)
        for j in range(n)
        if y[i] > y[j] and y[i] - y[j] >= min_gap
    ]


def informative(y):
    return len(y) >= 2 and max(y) > min(y)


def score_ranks(s):
    """1-based ranks by descending score, ties by item order."""
    order = sorted(range(len(s)), key=lambda i: (-s[i], i))
    r = np.empty(len(s))
    r[order] = np.arange(1, len(s) + 1)
    return r


def reduce_ref(results, weights=None, reduction="mean"):
    """Combine per-list ``(term, count)`` with per-list weights."""
    if weights is None:
        weights = [1.0] * len(results)
    terms = [w * t for w, (t, _) in zip(weights, results)]
    if reduction == "none":
        return terms
    if reduction == "sum":
        return sum(terms)
    total = sum(w * c for w, (_, c) in zip(weights, results))
    return sum(terms) / total if total > 0 else 0.0


# -- pairwise -----------------------------------------------------------------
def ranknet_list(s, y, sigma=1.0, weighting=None):
    term, p = 0.0, pairs(y)
    for i, j in p:
        w = {
            None: 1.0,
            "diff": abs(y[i] - y[j]),
            "diff_pow": abs(y[i] ** 2 - y[j] ** 2),
        }
        term += w[weighting] * softplus(-sigma * (s[i] - s[j]))
    return term, len(p)


def hinge_list(s, y, margin=1.0):
    p = pairs(y)
    return sum(max(0.0, margin - (s[i] - s[j])) for i, j in p), len(p)


# -- listwise -----------------------------------------------------------------
def listnet_list(s, y, target="softmax"):
    if not informative(y):
        return 0.0, 0
    if target == "softmax":
        p = np.exp(log_softmax(y))
    else:
        if y.sum() <= 0:
            return 0.0, 0
        p = y / y.sum()
    return float(-(p * log_softmax(s)).sum()), 1


def plackett_luce(z):
    """-log P of the order ``z`` (scores, best first)."""
    return sum(logsumexp(list(z[k:])) - z[k] for k in range(len(z)))


def listmle_list(s, y, ties="best"):
    if not informative(y):
        return 0.0, 0
    order = sorted(range(len(s)), key=lambda i: (-y[i], -s[i], i))
    return plackett_luce(s[order]), 1


def listmle_expected(s, y):
    """ListMLE averaged over every order consistent with the labels."""
    values = [
        plackett_luce(s[list(o)])
        for o in permutations(range(len(s)))
        if all(y[o[k]] >= y[o[k + 1]] for k in range(len(o) - 1))
    ]
    return sum(values) / len(values)


# -- LambdaLoss family --------------------------------------------------------
def norm_gains(y, k=None):
    g = 2.0 ** np.maximum(y, 0.0) - 1.0
    ideal = np.sort(g)[::-1]
    disc = 1.0 / np.log2(np.arange(2, len(y) + 2))
    if k is not None:
        disc[k:] = 0.0
    idcg = (ideal * disc).sum()
    return g / idcg if idcg > 0 else np.zeros_like(g)


def lambda_list(s, y, scheme="ndcg_loss2pp", mu=10.0, sigma=1.0, k=None):
    """allRank's lambdaLoss (log2, sum) on one list."""
    if not informative(y):
        return 0.0, 0
    n = len(s)
    p = score_ranks(s)
    G = norm_gains(y, k)

    def inv_d(x):
        return 1.0 / math.log2(1.0 + x)

    term, count = 0.0, 0
    for i in range(n):
        for j in range(n):
            if scheme != "ndcg_loss1" and not y[i] > y[j]:
                continue
            if k is not None and (p[i] > k or p[j] > k):
                continue
            lr = abs(inv_d(p[i]) - inv_d(p[j])) * abs(G[i] - G[j])
            d = abs(p[i] - p[j])
            l2 = abs(inv_d(d) - inv_d(d + 1)) * abs(G[i] - G[j]) if d else 0.0
            w = {
                "ranknet": 1.0,
                "lambdarank": lr,
                "ndcg_loss2": l2,
                "ndcg_loss2pp": mu * l2 + lr,
                "ndcg_loss1": G[i] * inv_d(p[i]),
            }[scheme]
            term += w * softplus(-sigma * (s[i] - s[j])) / LN2
            count += 1
    return term, count


def approx_ndcg_list(s, y, alpha=1.0):
    if not informative(y):
        return 0.0, 0
    G = norm_gains(y)
    total = 0.0
    for i in range(len(s)):
        pos = 1.0 + sum(
            1.0 / (1.0 + math.exp(alpha * (s[i] - s[j])))
            for j in range(len(s))
            if j != i
        )
        total += G[i] / math.log2(1.0 + pos)
    return -total, 1


def lipo_list(
    s,
    y,
    gain="exp2",
    scale_by_list_size=True,
    normalize_gain=False,
    topn=None,
    beta=1.0,
    label_transform=None,
):
    n = len(s)
    psi = np.asarray(y, dtype=float)
    if label_transform == "winrate":
        psi = np.array(
            [
                sum(
                    1.0 if y[k] > y[i] else 0.5 if y[k] == y[i] else 0.0
                    for i in range(n)
                )
                / n
                for k in range(n)
            ]
        )
    G = 2.0**psi - 1.0 if gain == "exp2" else psi.copy()
    if normalize_gain:
        disc = 1.0 / np.log2(np.arange(2, n + 2))
        if topn is not None:
            disc[topn:] = 0.0
        idcg = (np.sort(G)[::-1] * disc).sum()
        G = G / (idcg if idcg != 0 else 1.0)
    r = score_ranks(s)
    disc = 1.0 / np.log2(1.0 + r)
    if topn is not None:
        disc = np.where(r <= topn, disc, 0.0)
    scale = n if scale_by_list_size else 1.0
    p = pairs(y)
    term = sum(
        scale
        * abs(G[i] - G[j])
        * abs(disc[i] - disc[j])
        * softplus(-beta * (s[i] - s[j]))
        for i, j in p
    )
    return term, len(p)


# -- FIRST --------------------------------------------------------------------
def gold_ranks(y, ties="stable"):
    n = len(y)
    if ties == "stable":
        order = sorted(range(n), key=lambda i: (-y[i], i))
        r = np.empty(n)
        r[order] = np.arange(1, n + 1)
        return r
    return np.array(
        [
            sum(y[j] > y[i] for j in range(n))
            + (sum(y[j] == y[i] for j in range(n)) + 1) / 2
            for i in range(n)
        ]
    )


def first_ranknet_list(s, y, rank_ties="stable"):
    r = gold_ranks(y, rank_ties)
    p = pairs(y)
    return sum(softplus(-(s[i] - s[j])) / (r[i] + r[j]) for i, j in p), len(p)


def first_ref(lists, weights=None, lambda_rank=10.0, alpha_lm=1.0, rank_ties="stable"):
    rn = reduce_ref([first_ranknet_list(s, y, rank_ties) for s, y in lists], weights)
    mle = reduce_ref([listmle_list(s, y) for s, y in lists], weights)
    return lambda_rank * rn + alpha_lm * mle


# -- RankList -----------------------------------------------------------------
def ranklist_list(
    s,
    y,
    variant="lse",
    tau=1.0,
    skip=1,
    min_margin=0.0,
    skip_ramp_epochs=10,
    skip_weighting=None,
    epoch=None,
):
    levels = sorted(set(y.tolist()), reverse=True)
    level = {v: k for k, v in enumerate(levels)}
    N = len(levels)
    K = N - 1
    if epoch is not None:
        K = min(N - 1, 1 + (max(N - 2, 0) * epoch) // skip_ramp_epochs)
    valid = pairs(y, min_gap=min_margin)

    def gap(i, j):
        return level[y[j]] - level[y[i]]

    used, term = False, 0.0
    chosen = []
    if variant == "all_pairs":
        chosen = [(i, j, 1.0) for i, j in valid]
    elif variant in ("local", "local+lse"):
        chosen = [(i, j, 1.0) for i, j in valid if gap(i, j) == 1]
    elif variant == "skip":
        chosen = [(i, j, 1.0) for i, j in valid if gap(i, j) == skip]
    elif variant == "skip_curriculum":
        chosen = [
            (i, j, 1.0 / gap(i, j) if skip_weighting == "inverse" else 1.0)
            for i, j in valid
            if gap(i, j) <= K
        ]
    for i, j, w in chosen:
        term += w * softplus(-(s[i] - s[j]))
        used = True
    if variant in ("lse", "local+lse"):
        for a in range(len(s)):
            rivals = [b for i, b in valid if i == a]
            if rivals:
                z = [0.0] + [(s[b] - s[a]) / tau for b in rivals]
                term += tau * logsumexp(z)
                used = True
    return (term, 1) if used else (0.0, 0)
