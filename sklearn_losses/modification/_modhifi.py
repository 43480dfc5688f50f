"""ModHiFi on the package's MLPs: Subset Fidelity, structured pruning with
closed-form compensation, and class unlearning.

Kashyap, Murti, Nayak, Narshana and Bhattacharyya, "Identifying High Fidelity
predictive components for Model Modification" (NeurIPS 2025,
arXiv:2511.19566). The paper's layers are convolutions and Transformer FFNs;
here a layer is ``z = W h + b`` of an MLP, whose output unit ``c`` is the sum
of the contributions ``A_ci = W[c, i] h_i`` of the hidden units ``i`` (the
bias is not a contribution). Expectations are over reference inputs (a
Gaussian fitted to the training inputs, per class or not, or rows a user
passes); second moments are uncentred unless ``center=True``.
"""

from __future__ import annotations

import copy
import numbers
import warnings

import numpy as np
import torch

from .._validation import check_random_state_param, check_real, is_int
from ..estimators import LossClassifier
from ._network import (
    copy_estimator,
    finish_surgery,
    fitted_mlp,
    hidden_layers,
    layer_inputs,
    mlp_outputs,
    replace_linear,
)
from ._reference import check_reference, generator, reference_rows

__all__ = [
    "compensation",
    "prune",
    "singleton_scores",
    "subset_fidelity",
    "unlearn",
]

METHODS = ("modhifi", "magnitude")
SCORES = ("fidelity", "saliency")
SELECTIONS = ("per_output", "global")

#: HiFi-set sizes (fractions of the fan-in) that ``unlearn(k="auto")`` tries,
#: smallest first.
AUTO_FRACTIONS = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)

#: Output units per batched solve of the compensation (bounds its memory).
_SOLVE_ENTRIES = 2**22


# -- the layer-level mathematics (numpy, float64) ------------------------------
def _as_layer(H, W):
    H = np.asarray(H, dtype=np.float64)
    W = np.asarray(W, dtype=np.float64)
    if H.ndim != 2 or W.ndim != 2 or H.shape[1] != W.shape[1]:
        raise ValueError(
            "H must be (n_rows, n_inputs) and W (n_outputs, n_inputs) with the same "
            f"n_inputs; got H of shape {H.shape} and W of shape {W.shape}."
        )
    if H.shape[0] == 0:
        raise ValueError("H must hold at least one row.")
    return H, W


def _gram(H, center):
    """``(G, mean)``: ``G = E[h hᵀ]`` (centred: minus ``mean meanᵀ``)."""
    mean = H.mean(axis=0)
    G = H.T @ H / H.shape[0]
    if center:
        G = G - np.outer(mean, mean)
    return G, mean


def _scores_from_gram(G, W, score):
    WG = W @ G  # WG[c, i] = (G W_c)_i
    cross = W * WG  # E<Y_c, A_ci>
    if score == "saliency":
        return cross
    energy = W**2 * np.diag(G)[None, :]  # E|A_ci|^2
    total = np.einsum("ci,ci->c", W, WG)  # E|Y_c|^2
    den = energy * total[:, None]
    # Dead units (and zero weights) have 0/0: score 0, pruned first.
    return np.divide(cross**2, den, out=np.zeros_like(den), where=den > 0)


def _delta_from_gram(G, W, kept, ridge):
    n_out, m = W.shape
    kept = np.asarray(kept, dtype=np.int64)
    removed = np.setdiff1d(np.arange(m), kept)
    delta = np.zeros((n_out, m))
    if removed.size == 0:
        delta[:] = 1.0
        return delta
    if kept.size == 0:
        return delta
    G_cc = G[np.ix_(kept, kept)]
    G_cr = G[np.ix_(kept, removed)]
    w_c, w_r = W[:, kept], W[:, removed]
    rhs = w_c * (w_r @ G_cr.T)  # Q_c[C, C̄] 1 = diag(w_C) G[C, C̄] w_C̄
    step = max(1, _SOLVE_ENTRIES // (kept.size * kept.size))
    eye = np.eye(kept.size)
    for start in range(0, n_out, step):
        rows = slice(start, start + step)
        Q = w_c[rows, :, None] * G_cc[None] * w_c[rows, None, :]
        if ridge > 0:
            sol = np.linalg.solve(Q + ridge * eye, rhs[rows, :, None])[..., 0]
        else:  # the minimum-norm least-squares solution
            sol = np.einsum("bij,bj->bi", np.linalg.pinv(Q, hermitian=True), rhs[rows])
        delta[rows, kept] = 1.0 + sol
    return delta


def _fidelity_from_gram(G, W, delta):
    residual = W * (1.0 - delta)  # Y_c minus the kept, rescaled contributions
    err = np.einsum("ci,ij,cj->c", residual, G, residual)
    total = np.einsum("ci,ij,cj->c", W, G, W)
    return 1.0 - np.divide(err, total, out=np.zeros_like(err), where=total > 0)


def _check_score(score):
    if score not in SCORES:
        raise ValueError(f"score must be one of {list(SCORES)}; got {score!r}.")


def _check_kept(kept, m):
    kept = np.unique(np.asarray(kept, dtype=np.int64).reshape(-1))
    if kept.size and (kept[0] < 0 or kept[-1] >= m):
        raise ValueError(f"kept must hold input indices in [0, {m}); got {kept}.")
    return kept


def singleton_scores(H, W, *, score="fidelity", center=False):
    """Score of every contribution ``(c, i)`` of a linear layer (Eq. 3).

    For the layer ``Y_c = Σ_i W[c, i] h_i`` (bias left out) with contributions
    ``A_ci = W[c, i] h_i``, the singleton Subset Fidelity is

    .. math::

        s_{ci} = FS_c(\\{i\\}) = \\frac{E[Y_c A_{ci}]^2}{E[A_{ci}^2]\\,E[Y_c^2]}

    and the saliency (the paper's App. D.2 score) is
    :math:`R_{ci} = E[Y_c A_{ci}]`. Expectations are means over the rows of
    ``H``. A dead unit (``E[A_ci^2] = 0``) scores 0.

    Parameters
    ----------
    H : array-like of shape (n_rows, n_inputs)
        The layer's inputs (hidden activations) on reference rows.
    W : array-like of shape (n_outputs, n_inputs)
        The layer's weight.
    score : {"fidelity", "saliency"}, default="fidelity"
    center : bool, default=False
        Centre the second moments (the paper's BatchNorm variant:
        ``E[h hᵀ] - E[h] E[h]ᵀ``).

    Returns
    -------
    ndarray of shape (n_outputs, n_inputs)

    References
    ----------
    Kashyap et al., "Identifying High Fidelity predictive components for Model
    Modification", NeurIPS 2025 (arXiv:2511.19566), §3.2, Eq. 3.

    Examples
    --------
    >>> import numpy as np
    >>> H = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> singleton_scores(H, np.array([[1.0, 1.0]])).round(4)
    array([[0.75, 0.75]])
    """
    H, W = _as_layer(H, W)
    _check_score(score)
    return _scores_from_gram(_gram(H, center)[0], W, score)


def compensation(H, W, kept, *, ridge=1e-4, center=False):
    """Optimal rescaling ``δ*`` of the kept inputs of a linear layer (Prop. 3.8).

    For every output ``c``, with ``C`` the kept and ``C̄`` the removed inputs
    and ``Q_c[i, j] = E[A_ci A_cj]``,

    .. math::

        \\delta^*_C = 1_C + (Q_c[C, C] + \\lambda I)^{-1} Q_c[C, \\bar C] 1_{\\bar C},
        \\qquad \\delta^*_i = 0 \\ (i \\notin C),

    the least-squares refit of ``Y_c`` on the kept contributions (``λ = 0``:
    the minimum-norm solution); the edited layer is ``W[c, i] δ*_ci``.

    Parameters
    ----------
    H : array-like of shape (n_rows, n_inputs)
    W : array-like of shape (n_outputs, n_inputs)
    kept : array-like of int
        Indices of the kept inputs.
    ridge : float, default=1e-4
        ``λ``, added to the diagonal of ``Q_c[C, C]`` (the paper's value).
    center : bool, default=False
        Centred second moments.

    Returns
    -------
    ndarray of shape (n_outputs, n_inputs)
        ``δ*`` (1 everywhere when nothing is removed).

    Examples
    --------
    >>> import numpy as np
    >>> H = np.array([[1.0, 1.0], [2.0, 2.0]])  # two identical units
    >>> compensation(H, np.array([[1.0, 3.0]]), [1], ridge=0.0).round(4)
    array([[0.    , 1.3333]])
    """
    H, W = _as_layer(H, W)
    check_real("ridge", ridge, low=0)
    kept = _check_kept(kept, W.shape[1])
    return _delta_from_gram(_gram(H, center)[0], W, kept, ridge)


def subset_fidelity(H, W, kept, *, delta=None, center=False):
    """Subset Fidelity ``FS_c(C)`` of every output of a linear layer (Def. 3.1).

    .. math::

        FS_c(C) = 1 - \\frac{E\\,(Y_c - \\sum_{i \\in C} \\delta_i A_{ci})^2}{E\\,Y_c^2}

    with the optimal ``δ`` (:func:`compensation` with ``ridge=0``) unless
    ``delta`` is given (e.g. all ones for plain deletion).

    Parameters
    ----------
    H : array-like of shape (n_rows, n_inputs)
    W : array-like of shape (n_outputs, n_inputs)
    kept : array-like of int
        Indices of the kept inputs ``C``.
    delta : array-like of shape (n_outputs, n_inputs), default=None
        Coefficients of the kept contributions (entries outside ``C`` are
        ignored).
    center : bool, default=False

    Returns
    -------
    ndarray of shape (n_outputs,)
        In ``[0, 1]`` for the optimal ``δ``; 1 for an output that is zero on
        every row.

    Examples
    --------
    >>> import numpy as np
    >>> H = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> subset_fidelity(H, np.array([[1.0, 1.0]]), [0]).round(4)
    array([0.5])
    """
    H, W = _as_layer(H, W)
    kept = _check_kept(kept, W.shape[1])
    G = _gram(H, center)[0]
    if delta is None:
        delta = _delta_from_gram(G, W, kept, 0.0)
    else:
        delta = np.asarray(delta, dtype=np.float64)
        if delta.shape != W.shape:
            raise ValueError(f"delta must have W's shape {W.shape}; got {delta.shape}.")
        mask = np.zeros(W.shape[1], dtype=bool)
        mask[kept] = True
        delta = np.where(mask[None, :], delta, 0.0)
    return _fidelity_from_gram(G, W, delta)


def _unit_order(scores, selection):
    """Hidden units from most to least worth keeping.

    ``"per_output"``: by the best rank a unit reaches in any output's ordering
    (the union of the per-output top-k HiFi sets grows in this order as k
    grows; non-positive scores rank last), ties broken by the unit's best
    score. ``"global"``: by the unit's best score over all outputs (one top-k
    over all pairs).
    """
    best = scores.max(axis=0)
    if selection == "global":
        return np.argsort(-best, kind="stable")
    m = scores.shape[1]
    ranks = np.argsort(np.argsort(-scores, axis=1, kind="stable"), axis=1)
    ranks = np.where(scores > 0, ranks, m)
    return np.lexsort((-best, ranks.min(axis=0)))


# -- argument checks -------------------------------------------------------------
def _check_keep(keep):
    if not (
        isinstance(keep, numbers.Real)
        and not isinstance(keep, bool)
        and np.isfinite(keep)
        and 0 < keep <= 1
    ):
        raise ValueError(
            "keep must be a float in (0, 1], the share of each hidden layer's "
            f"units to keep; got {keep!r}."
        )
    return float(keep)


def _check_choice(name, value, options):
    if not (isinstance(value, str) and value in options):
        raise ValueError(f"{name} must be one of {list(options)}; got {value!r}.")


def _check_bool(name, value):
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be True or False; got {value!r}.")


def _check_layers(layers, n_hidden, name):
    if n_hidden == 0:
        raise ValueError(
            f"{name} needs a network with at least one hidden layer; this one has "
            "none (hidden_layer_sizes=())."
        )
    if isinstance(layers, str) and layers == "all":
        return list(range(n_hidden))
    if is_int(layers):
        layers = [layers]
    try:
        chosen = sorted({int(j) for j in layers if is_int(j)})
        ok = len(chosen) == len(list(layers)) and len(chosen) > 0
    except TypeError:
        ok = False
    if not ok or chosen[0] < -n_hidden or chosen[-1] >= n_hidden:
        raise ValueError(
            "layers must be 'all' or distinct hidden-layer indices in "
            f"[0, {n_hidden}) (the network has {n_hidden} hidden layers); got "
            f"{layers!r}."
        )
    return sorted({j % n_hidden for j in chosen})


# -- pruning ---------------------------------------------------------------------
def prune(
    estimator,
    keep=0.5,
    *,
    reference="auto",
    n_reference=2048,
    layers="all",
    method="modhifi",
    score="fidelity",
    selection="per_output",
    center=False,
    bias_correction=False,
    ridge=1e-4,
    random_state=None,
):
    """Structured pruning of a fitted estimator's MLP (ModHiFi-P), data-free.

    Layer by layer in the forward direction, for hidden layer ``l`` read by
    the linear layer ``z = W h + b``:

    1. score every contribution ``A_ci = W[c, i] h_i`` by its singleton Subset
       Fidelity ``s_ci`` (:func:`singleton_scores`) on reference inputs;
    2. keep ``round(keep * width)`` units: those that enter the per-output
       HiFi sets (the top-k of ``s_c·``) first as ``k`` grows
       (``selection="per_output"``, the paper's Alg. 1), or the best by their
       highest score (``"global"``);
    3. remove the other units (their rows of the layer that makes them and
       their columns of ``W``) and rescale the kept columns with the optimal
       compensation ``δ*`` (:func:`compensation`, Prop. 3.8), a least-squares
       refit of each ``Y_c`` on the kept contributions, no gradients;
    4. optionally (``bias_correction``), add ``Σ_i (1 - δ*_ci) W[c, i] E[h_i]`` to
       ``b_c`` so that ``E[z_c]`` is unchanged (the MLP analogue of the
       paper's BatchNorm re-estimation);

    and recompute the next layer's inputs from the pruned network.
    ``method="magnitude"`` is the baseline: keep the units whose outgoing
    weights (columns of ``W``) have the largest L2 norms, no compensation
    (the rule of ``torch.nn.utils.prune.ln_structured(n=2, dim=1)``).

    Reference inputs (no training data needed): every fitted estimator of the
    package keeps the mean and standard deviation of its training features
    (and their covariance for at most 64 features), overall and per class;
    ``"gaussian"`` draws from that Gaussian, ``"class_gaussian"`` from the
    per-class Gaussians mixed by the training class counts. Rows of real
    data may be passed instead (a few hundred are enough).

    Parameters
    ----------
    estimator : fitted estimator of sklearn_losses
        LossClassifier, LossRegressor, DistilledClassifier (one head),
        MultiLabelLossClassifier, LossEmbedder or LossRanker, whose network is
        the default MLP.
    keep : float in (0, 1], default=0.5
        Share of the units kept in each pruned hidden layer (at least one).
        ``1.0`` returns an unchanged copy.
    reference : {"auto", "gaussian", "class_gaussian"} or array-like, \
default="auto"
        Reference inputs: a sampler, or rows shaped like ``predict``'s ``X``.
        ``"auto"``: ``"class_gaussian"`` for an estimator of a class target,
        ``"gaussian"`` otherwise.
    n_reference : int, default=2048
        Rows drawn by a sampler.
    layers : "all", int or sequence of int, default="all"
        The hidden layers to prune (0 is the first).
    method : {"modhifi", "magnitude"}, default="modhifi"
    score : {"fidelity", "saliency"}, default="fidelity"
        The unit scores of ``"modhifi"``: Eq. 3's fidelity or App. D.2's
        saliency ``E[Y_c A_ci]``.
    selection : {"per_output", "global"}, default="per_output"
    center : bool, default=False
        Centred second moments for the scores and ``δ*`` (with
        ``bias_correction`` this is least squares with an intercept).
    bias_correction : bool, default=False
        Keep the mean of every next-layer pre-activation under the reference
        distribution (``"modhifi"`` only). Off by default, as in the paper's
        method: when the Gaussian reference differs from the data (skewed or
        heavy-tailed features) the shift it applies can hurt.
    ridge : float, default=1e-4
        ``λ`` of the compensation (the paper's value); 0 for plain least
        squares.
    random_state : None, int or RandomState, default=None
        Seeds the sampler.

    Returns
    -------
    estimator
        A new fitted estimator of the same class (the input is not modified)
        with a smaller network. Its parameters are unchanged (so ``clone``
        gives the original architecture); ``hidden_layer_sizes_`` holds the
        pruned widths and ``pruning_`` a record: ``{"method", "keep",
        "kept_units"`` (per hidden layer, the original indices of its kept
        units), ``"fidelity"`` (per hidden layer, ``FS_c`` of every output of
        the next layer with the compensation used; None when not computed)``}``.
        ``warm_start=True`` and ``fit`` fine-tune the pruned network.

    Raises
    ------
    NotFittedError
        For an unfitted estimator.
    TypeError
        For another estimator or a network that is not the package's MLP.
    ValueError
        For an invalid parameter or reference rows of the wrong width.

    See Also
    --------
    unlearn : Class unlearning with the same scores.

    References
    ----------
    Kashyap et al., "Identifying High Fidelity predictive components for Model
    Modification", NeurIPS 2025 (arXiv:2511.19566), Alg. 1 (ModHiFi-P).

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn_losses import LossClassifier
    >>> from sklearn_losses.modification import prune
    >>> X, y = make_classification(n_samples=300, random_state=0)
    >>> clf = LossClassifier(module="mlp", hidden_layer_sizes=(32, 16),
    ...                      max_epochs=30, random_state=0).fit(X, y)
    >>> small = prune(clf, keep=0.5, random_state=0)
    >>> small.hidden_layer_sizes_, clf.hidden_layer_sizes
    ((16, 8), (32, 16))
    >>> small.predict(X[:3]).shape
    (3,)
    """
    keep = _check_keep(keep)
    _check_choice("method", method, METHODS)
    _check_choice("score", score, SCORES)
    _check_choice("selection", selection, SELECTIONS)
    _check_bool("center", center)
    _check_bool("bias_correction", bias_correction)
    check_real("ridge", ridge, low=0)
    check_random_state_param(random_state)
    is_rows = check_reference(reference, n_reference, "prune")
    mlp = fitted_mlp(estimator, "prune")
    linears = hidden_layers(mlp)
    chosen = _check_layers(layers, len(linears) - 1, "prune")
    X = None
    if method == "modhifi" or is_rows:
        X = reference_rows(
            estimator, reference, n_reference, generator(random_state), "prune"
        )
    pruned = copy_estimator(estimator)
    mlp = fitted_mlp(pruned, "prune")
    kept_units, fidelity = [], []
    for j in range(len(linears) - 1):
        here, after = linears[j], linears[j + 1]
        width = mlp[here].out_features
        n_keep = max(1, int(round(keep * width))) if j in chosen else width
        if n_keep == width:
            kept_units.append(np.arange(width))
            fidelity.append(None)
            continue
        W = mlp[after].weight.detach().double().cpu().numpy()
        b = (
            None
            if mlp[after].bias is None
            else mlp[after].bias.detach().double().cpu().numpy()
        )
        if method == "magnitude":
            order = np.argsort(-np.linalg.norm(W, axis=0), kind="stable")
        else:
            H = layer_inputs(mlp, after, X)
            G, mean = _gram(H, center)
            order = _unit_order(_scores_from_gram(G, W, score), selection)
        kept = np.sort(order[:n_keep])
        if method == "magnitude":
            W_new, b_new, fs = W[:, kept], b, None
        else:
            delta = _delta_from_gram(G, W, kept, ridge)
            fs = _fidelity_from_gram(G, W, delta)
            W_new = (W * delta)[:, kept]
            b_new = b
            if bias_correction and b is not None:
                b_new = b + ((1.0 - delta) * W) @ mean
        source = mlp[here]
        replace_linear(
            mlp,
            here,
            source.weight.detach().double().cpu().numpy()[kept],
            None if source.bias is None else source.bias.detach().cpu().numpy()[kept],
        )
        replace_linear(mlp, after, W_new, b_new)
        kept_units.append(kept)
        fidelity.append(fs)
    finish_surgery(pruned, mlp)
    pruned.pruning_ = {
        "method": method,
        "keep": keep,
        "kept_units": kept_units,
        "fidelity": fidelity,
    }
    return pruned


# -- unlearning --------------------------------------------------------------------
def _check_k(k):
    if isinstance(k, str) and k == "auto":
        return None
    if is_int(k, 1):
        return int(k)
    if isinstance(k, float) and 0 < k <= 1:
        return float(k)
    raise ValueError(
        "k must be 'auto', an int >= 1 (HiFi-set size per output unit) or a float "
        f"in (0, 1] (a share of each layer's fan-in); got {k!r}."
    )


def _set_size(k, fan_in):
    if isinstance(k, float):
        return max(1, int(np.ceil(k * fan_in)))
    return min(k, fan_in)


@torch.no_grad()
def _zero_hifi_sets(mlp, edited, X_forget, k, score, logit=None):
    """Zero the weights of every output's top-k contributions on the forget
    rows, layer by layer (inputs recomputed from the edited network); with
    ``logit``, only that output's row of the output layer."""
    sizes = []
    last = hidden_layers(mlp)[-1]
    for position in edited:
        layer = mlp[position]
        W = layer.weight.detach().double().cpu().numpy()
        H = layer_inputs(mlp, position, X_forget)
        scores = _scores_from_gram(_gram(H, False)[0], W, score)
        if logit is not None and position == last:
            keep_rows = np.zeros(W.shape[0], dtype=bool)
            keep_rows[logit] = True
            scores = np.where(keep_rows[:, None], scores, 0.0)
        size = _set_size(k, W.shape[1])
        top = np.argsort(-scores, axis=1, kind="stable")[:, :size]
        mask = np.ones_like(W, dtype=bool)
        rows = np.repeat(np.arange(W.shape[0]), size)
        hit = scores[rows, top.ravel()] > 0
        mask[rows[hit], top.ravel()[hit]] = False
        layer.weight.mul_(torch.as_tensor(mask, dtype=layer.weight.dtype))
        sizes.append(size)
    return sizes


def unlearn(
    estimator,
    class_label,
    *,
    k="auto",
    reference="class_gaussian",
    n_reference=2048,
    layers=-1,
    outputs="class",
    score="fidelity",
    random_state=None,
):
    """Forget one class of a fitted classifier (ModHiFi-U), data-free.

    The forget rows are synthetic inputs of the class: draws from the
    class's Gaussian (``reference="class_gaussian"``: the training mean and
    covariance of that class, which the estimator keeps), or the reference
    rows the classifier assigns to it (``"gaussian"`` or rows passed). For
    each edited linear layer (by default the output layer, which reads the
    last hidden layer), the singleton fidelity ``s_ci`` of each contribution
    is computed on the forget rows only and the weights ``W[c, i]`` of the
    top-``k`` contributions of an output (its HiFi set for the class) are
    set to zero: of the class's own logit in the output layer
    (``outputs="class"``, the default), or of every output unit
    (``outputs="all"``, the paper's Alg. 1). Several layers are edited in the
    forward direction, each from the already edited network. No gradients
    and no labels beyond the class to forget.

    ``k="auto"`` is the stopping rule of the package (not in the paper): grow
    ``k`` through :data:`AUTO_FRACTIONS` of each fan-in until the share of the
    forget rows predicted as the class is at most chance, ``1 / n_classes``.

    Parameters
    ----------
    estimator : fitted LossClassifier or DistilledClassifier (one head)
        Its network must be the default MLP with at least one hidden layer.
    class_label : label
        The class to forget, one of ``estimator.classes_``.
    k : "auto", int >= 1 or float in (0, 1], default="auto"
        HiFi-set size per output unit: a count, or a share of the layer's
        fan-in.
    reference : {"class_gaussian", "gaussian", "auto"} or array-like, \
default="class_gaussian"
        Where the forget rows come from (see above); ``"auto"`` is
        ``"class_gaussian"``.
    n_reference : int, default=2048
        Rows drawn by a sampler.
    layers : "all", int or sequence of int, default=-1
        Hidden layers whose reading layer is edited: ``-1``, the last hidden
        layer, edits the output layer; ``"all"`` every layer after the first
        (the paper edits the last layers of deep networks). On the tables of
        ``benchmarks/bench_pruning.py`` the output layer alone forgets as
        well as all layers and keeps more of the other classes.
    outputs : {"class", "all"}, default="class"
        Whose HiFi sets are zeroed in the output layer: the forgotten class's
        logit only (the other logits are untouched, so the other classes
        keep their accuracy), or every logit (the paper's rule; on the
        benchmark tables it costs 5 to 10 points of the other classes'
        accuracy). Hidden layers (``layers`` other than ``-1``) always edit
        every unit.
    score : {"fidelity", "saliency"}, default="fidelity"
    random_state : None, int or RandomState, default=None
        Seeds the sampler.

    Returns
    -------
    estimator
        A new fitted classifier of the same class (the input is not
        modified), with the same ``classes_``. ``unlearning_`` records
        ``{"class", "k"`` (the HiFi-set size per edited layer),
        ``"forget_share"`` (share of the forget rows still predicted as the
        class), ``"retain_agreement"`` (share of the reference rows of the
        other classes whose prediction is unchanged; None when there are
        none), ``"reached_chance"}``.

    Raises
    ------
    NotFittedError
        For an unfitted estimator.
    TypeError
        For an estimator that is not a single-label classifier with the
        package's MLP.
    ValueError
        For a label that is not in ``classes_``, an invalid parameter, or
        reference rows of the wrong width or with no row of the class.

    Warns
    -----
    UserWarning
        When ``k="auto"`` does not reach chance.

    See Also
    --------
    prune : Structured pruning with the same scores.

    References
    ----------
    Kashyap et al., "Identifying High Fidelity predictive components for Model
    Modification", NeurIPS 2025 (arXiv:2511.19566), Alg. 1 (ModHiFi-U).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn_losses import LossClassifier
    >>> from sklearn_losses.modification import unlearn
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = LossClassifier(module="mlp", input_scaling=None, early_stopping=False,
    ...                      hidden_layer_sizes=(32,), max_epochs=200, lr=1e-2,
    ...                      random_state=0).fit(X, y)
    >>> forgot = unlearn(clf, 2, random_state=0)
    >>> bool((forgot.predict(X[y == 2]) == 2).mean() < 0.5)
    True
    """
    if not isinstance(estimator, LossClassifier):
        raise TypeError(
            "unlearn forgets a class of a single-label classifier (LossClassifier, "
            f"DistilledClassifier); got {type(estimator).__name__}."
        )
    mlp = fitted_mlp(estimator, "unlearn")
    classes = estimator.classes_
    matches = [i for i, label in enumerate(classes) if _same_label(label, class_label)]
    if not matches:
        raise ValueError(
            f"class_label must be one of the classes {classes.tolist()}; got "
            f"{class_label!r}."
        )
    target = matches[0]
    k = _check_k(k)
    _check_choice("outputs", outputs, ("class", "all"))
    _check_choice("score", score, SCORES)
    check_random_state_param(random_state)
    check_reference(reference, n_reference, "unlearn")
    linears = hidden_layers(mlp)
    chosen = _check_layers(layers, len(linears) - 1, "unlearn")
    edited = [linears[j + 1] for j in chosen]

    logit = _class_logit(mlp, target) if outputs == "class" else None
    rng = generator(random_state)
    labels = _labels_of(estimator)
    if isinstance(reference, str) and reference in ("auto", "class_gaussian"):
        X_forget = reference_rows(
            estimator, reference, n_reference, rng, "unlearn", classes=[target]
        )
        others = [c for c in range(len(classes)) if c != target]
        X_retain = reference_rows(
            estimator, reference, n_reference, rng, "unlearn", classes=others
        )
    else:
        X_all = reference_rows(estimator, reference, n_reference, rng, "unlearn")
        predicted = labels(mlp_outputs(mlp, X_all))
        X_forget, X_retain = X_all[predicted == target], X_all[predicted != target]
        if len(X_forget) < 2:
            raise ValueError(
                f"unlearn needs reference rows of class {class_label!r}; the "
                f"classifier assigns {len(X_forget)} of the {len(X_all)} reference "
                "rows to it. Pass more rows or use reference='class_gaussian'."
            )
    retain_before = labels(mlp_outputs(mlp, X_retain)) if len(X_retain) else None
    chance = 1.0 / len(classes)

    for fraction in [k] if k is not None else list(AUTO_FRACTIONS):
        trial = copy.deepcopy(mlp)
        sizes = _zero_hifi_sets(trial, edited, X_forget, fraction, score, logit)
        forget_share = float(np.mean(labels(mlp_outputs(trial, X_forget)) == target))
        if forget_share <= chance:
            break
    reached = forget_share <= chance
    if k is None and not reached:
        warnings.warn(
            f"unlearn(k='auto') did not bring the forget rows of class "
            f"{class_label!r} to chance ({chance:.3g}): {forget_share:.3g} are still "
            "predicted as the class with every weight of the HiFi sets removed.",
            UserWarning,
            stacklevel=2,
        )
    retain = None
    if retain_before is not None:
        retain = float(np.mean(labels(mlp_outputs(trial, X_retain)) == retain_before))

    forgotten = copy_estimator(estimator)
    net_mlp = fitted_mlp(forgotten, "unlearn")
    net_mlp.load_state_dict(trial.state_dict())
    finish_surgery(forgotten, net_mlp)
    forgotten.unlearning_ = {
        "class": classes[target],
        "k": sizes,
        "forget_share": forget_share,
        "retain_agreement": retain,
        "reached_chance": reached,
    }
    return forgotten


def _class_logit(mlp, target):
    """The output unit of class ``target`` (the only logit of a one-logit
    binary network)."""
    return [0] if mlp[-1].out_features == 1 else [target]


def _same_label(label, wanted):
    try:
        equal = label == wanted
    except (TypeError, ValueError):  # labels that do not compare
        return False
    return isinstance(equal, bool | np.bool_) and bool(equal)


def _labels_of(estimator):
    """``outputs -> encoded class indices`` for the classifier's network."""

    def labels(outputs):
        return estimator._labels_from_logits(outputs)

    return labels
