"""The training engine: a skorch ``NeuralNet`` that trains on in-memory tensors.

skorch provides module/criterion/optimizer initialisation with ``prefix__``
parameters, callbacks (early stopping with best-weight restoring, logging,
LR schedulers), the history and CUDA-safe pickling. This subclass replaces
skorch's per-row ``Dataset``/``DataLoader`` iteration with one permutation per
epoch and contiguous tensor slices, passes sample weights and the extra inputs
a loss declares to the loss, and keeps the history per epoch. Per-batch
callbacks are still honoured: when a callback overrides a batch hook, the
engine notifies it and records batch entries as skorch does.
"""

from __future__ import annotations

import math

import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EpochTimer

from ..exceptions import TrainingDivergedError
from ..losses import trusted_targets, weighted_reduce

__all__ = [
    "TensorNet",
    "PREDICT_CHUNK",
    "ENGINE_CONTEXT",
    "stratified_permutation",
    "proportion_permutation",
]

#: Inputs the engine itself can hand to a loss that declares them in
#: ``requires``: the batch's features, the network, and the epoch (from 1).
ENGINE_CONTEXT = ("X", "module", "epoch")

#: Rows per module call at prediction time.
PREDICT_CHUNK = 1024

_BATCH_HOOKS = ("on_batch_begin", "on_batch_end", "on_grad_computed")


def _uses_batch_hooks(callback):
    cls = type(callback)
    return any(getattr(cls, h) is not getattr(Callback, h) for h in _BATCH_HOOKS)


def _is_proportions(sampler):
    return not isinstance(sampler, str)


def _slice(data, start, stop):
    return {k: v[start:stop] for k, v in data.items()}


def stratified_permutation(y, generator):
    """A permutation whose contiguous blocks hold every class in proportion.

    Rows are shuffled within their class, each class is spread evenly over the
    permutation (row ``r`` of class ``c`` gets the key ``(r + u_c) / n_c`` with a
    random offset ``u_c``), and the keys are sorted. Any block of ``b`` rows
    then holds ``floor`` or ``ceil`` of ``b n_c / n`` rows of class ``c``: at least
    one when ``n_c >= n / b``.

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
    draws = torch.round(share * m).long()
    draws[int(torch.argmax(share))] += m - int(draws.sum())
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


class TensorNet(NeuralNet):
    """skorch engine over dicts of tensors ``{"X", "y", "sample_weight", ...}``.

    Not meant to be used directly: the estimators build it in ``fit``. Train
    with ``net.partial_fit(train, valid=valid, seed=..., score_fn=...)`` where
    ``train`` and ``valid`` map names to tensors with one row per sample.
    """

    def get_default_callbacks(self):
        return [("epoch_timer", EpochTimer())]

    # -- the fit loop ---------------------------------------------------------
    def fit_loop(
        self,
        X,
        y=None,
        epochs=None,
        *,
        valid=None,
        seed=0,
        score_fn=None,
        sampler="random",
        reweighting=None,
        **kwargs,
    ):
        epochs = self.max_epochs if epochs is None else epochs
        self._sampler = sampler
        self._reweighting = reweighting
        self._step = 0
        if reweighting is not None:
            rows = self._epoch_rows(X["y"])
            bs = self.batch_size if self.batch_size > 0 else rows
            self._warmup = reweighting.warmup_steps(epochs * -(-rows // bs))
        requires = getattr(self.criterion_, "requires", ())
        self._engine_keys = tuple(k for k in ENGINE_CONTEXT if k in requires)
        generator = torch.Generator().manual_seed(int(seed))
        batch_cbs = [cb for _, cb in self.callbacks_ if _uses_batch_hooks(cb)]
        name = getattr(self.criterion_, "name", None) or type(self.criterion_).__name__
        with trusted_targets():  # labels were encoded by the estimator
            self._epochs(epochs, X, valid, generator, batch_cbs, score_fn, name)
        return self

    def _epochs(self, epochs, X, valid, generator, batch_cbs, score_fn, name):
        epoch_kwargs = {"dataset_train": X, "dataset_valid": valid}
        for _ in range(epochs):
            self.notify("on_epoch_begin", **epoch_kwargs)
            epoch = len(self.history)
            train_loss = self._train_epoch(X, generator, batch_cbs)
            self.history.record("train_loss", train_loss)
            if not math.isfinite(train_loss):
                raise TrainingDivergedError(
                    f"Loss {name!r} became {train_loss} in epoch {epoch} (training). "
                    "Lower lr, check the inputs, or enable early_stopping to keep the "
                    "best weights."
                )
            if valid is not None:
                valid_loss, valid_score = self._evaluate(valid, score_fn)
                self.history.record("valid_loss", valid_loss)
                self.history.record("valid_score", valid_score)
                if not math.isfinite(valid_loss):
                    raise TrainingDivergedError(
                        f"Loss {name!r} became {valid_loss} in epoch {epoch} "
                        "(validation)."
                    )
            self.notify("on_epoch_end", **epoch_kwargs)

    def _train_epoch(self, data, generator, batch_cbs):
        module, criterion, optimizer = self.module_, self.criterion_, self.optimizer_
        self._set_training(True)
        perm = self._permutation(data["y"], generator).to(data["y"].device)
        n = perm.shape[0]
        data = {k: v.index_select(0, perm) for k, v in data.items()}
        X, y = data.pop("X"), data.pop("y")
        weight = data.pop("sample_weight", None)
        bs = self.batch_size if self.batch_size > 0 else n
        losses = []
        for start in range(0, n, bs):
            stop = start + bs
            xb, yb = X[start:stop], y[start:stop]
            wb = None if weight is None else weight[start:stop]
            context = _slice(data, start, stop) if data else {}
            if self._engine_keys:
                context.update(self._engine_context(xb))
            if batch_cbs:
                self.notify("on_batch_begin", batch=(xb, yb), training=True)
            optimizer.zero_grad(set_to_none=True)
            y_pred = module(xb)
            if self._reweighting is None:
                loss = criterion(y_pred, yb, sample_weight=wb, **context)
            else:
                loss = self._reweighted_loss(y_pred, yb, wb, context)
            loss.backward()
            if batch_cbs:
                self.notify(
                    "on_grad_computed",
                    named_parameters=list(self.get_all_learnable_params()),
                    batch=(xb, yb),
                    training=True,
                )
            optimizer.step()
            losses.append(loss.detach())
            if batch_cbs:
                self.history.record_batch("train_loss", loss.item())
                self.history.record_batch("train_batch_size", yb.shape[0])
                self.notify(
                    "on_batch_end",
                    batch=(xb, yb),
                    training=True,
                    loss=loss,
                    y_pred=y_pred,
                )
        sizes = torch.full((len(losses),), float(bs), device=y.device)
        sizes[-1] = n - bs * (len(losses) - 1)
        return float((torch.stack(losses).float() * sizes).sum() / n)

    def _permutation(self, y, generator):
        sampler = self._sampler
        if sampler == "stratified":
            return stratified_permutation(y.cpu(), generator)
        if _is_proportions(sampler):
            return proportion_permutation(y.cpu(), sampler, generator)
        return torch.randperm(y.shape[0], generator=generator)

    def _epoch_rows(self, y):
        """Rows per epoch: ``n``, or more with fixed class proportions."""
        if not _is_proportions(self._sampler):
            return y.shape[0]
        return proportion_epoch_length(y.cpu(), self._sampler)

    def _reweighted_loss(self, y_pred, yb, wb, context):
        """Loss of the batch with dynamic per-sample multipliers (after warm-up)."""
        criterion = self.criterion_
        terms = criterion.loss_terms(y_pred, yb, **context)
        self._step += 1
        if self._step > self._warmup:
            m = self._reweighting.multipliers(terms, wb)
            wb = m if wb is None else wb * m
        return weighted_reduce(terms, wb, "mean")

    def _engine_context(self, X):
        values = {"X": X, "module": self.module_, "epoch": len(self.history)}
        return {k: values[k] for k in self._engine_keys}

    def _evaluate(self, data, score_fn):
        self._set_training(False)
        logits = self.forward_tensor(data["X"])
        extra = {k: v for k, v in data.items() if k not in ("X", "y", "sample_weight")}
        if self._engine_keys:
            extra.update(self._engine_context(data["X"]))
        with torch.no_grad():
            loss = self.criterion_(
                logits, data["y"], sample_weight=data.get("sample_weight"), **extra
            )
        score = score_fn(logits) if score_fn is not None else float("nan")
        return float(loss), float(score)

    # -- inference ------------------------------------------------------------
    def forward_tensor(self, X, chunk_size=PREDICT_CHUNK):
        """Module output for a tensor already on the device, in eval mode.

        Rows go through the module in chunks of exactly ``chunk_size`` (the last
        one zero-padded), so a row's output does not depend on which other rows
        are predicted with it: float32 matrix products otherwise pick kernels by
        batch shape and differ in the last bits.
        """
        self._set_training(False)
        outs = []
        with torch.inference_mode():
            for start in range(0, X.shape[0], chunk_size):
                chunk = X[start : start + chunk_size]
                k = chunk.shape[0]
                if k < chunk_size:
                    pad = chunk.new_zeros((chunk_size - k, *chunk.shape[1:]))
                    chunk = torch.cat([chunk, pad])
                outs.append(self.module_(chunk)[:k])
        return torch.cat(outs) if len(outs) != 1 else outs[0]
