"""The training engine: a skorch ``NeuralNet`` that trains on in-memory tensors.

skorch provides module/criterion/optimizer initialisation with ``prefix__``
parameters, callbacks (early stopping with best-weight restoring, logging,
LR schedulers), the history and CUDA-safe pickling. This subclass replaces
skorch's per-row ``Dataset``/``DataLoader`` iteration: a batch plan
(:mod:`sklearn_losses.sampling`) gives the index batches of each epoch, the
epoch's rows are gathered once and cut into contiguous batches. It passes
sample weights and the extra inputs a loss declares to the loss, and keeps the
history per epoch. Per-batch
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
from ..sampling._batches import RandomBatches, epoch_indices, group_chunks

__all__ = ["TensorNet", "PREDICT_CHUNK", "ENGINE_CONTEXT", "n_members", "takes_groups"]

#: Inputs the engine itself can hand to a loss that declares them in
#: ``requires``: the batch's features, the network, and the epoch (from 1).
ENGINE_CONTEXT = ("X", "module", "epoch")

#: Rows per module call at prediction time (every call has exactly this many
#: rows when there are at least this many to predict).
PREDICT_CHUNK = 256

_BATCH_HOOKS = ("on_batch_begin", "on_batch_end", "on_grad_computed")


def _uses_batch_hooks(callback):
    cls = type(callback)
    return any(getattr(cls, h) is not getattr(Callback, h) for h in _BATCH_HOOKS)


class TensorNet(NeuralNet):
    """skorch engine over dicts of tensors ``{"X", "y", "sample_weight", ...}``.

    Not meant to be used directly: the estimators build it in ``fit``. Train
    with ``net.partial_fit(train, valid=valid, seed=..., score_fn=...,
    batch_plan=...)`` where ``train`` and ``valid`` map names to tensors with one
    row per sample. A ``"groups"`` entry (a group id per row) is read by the
    batch plan and keeps groups whole in validation; the loss sees it only when
    it declares ``"groups"`` in ``requires``, the module only when it declares
    ``takes_groups = True`` (a set or list scorer).
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
        batch_plan=None,
        reweighting=None,
        **kwargs,
    ):
        epochs = self.max_epochs if epochs is None else epochs
        self._plan = RandomBatches() if batch_plan is None else batch_plan
        groups = X.get("groups")
        self._plan_inputs = (X["y"].cpu(), None if groups is None else groups.cpu())
        requires = getattr(self.criterion_, "requires", ())
        self._module_groups = takes_groups(self.module_)
        self._members = n_members(self.module_)
        self._flat_members = (
            reweighting is None
            and getattr(self.criterion_, "decomposable", False)
            and not requires
        )
        self._loss_groups = "groups" in requires
        self._batch_keys = tuple(
            k for k in X if k != "groups" or self._loss_groups or self._module_groups
        )
        self._engine_keys = tuple(k for k in ENGINE_CONTEXT if k in requires)
        self._reweighting = reweighting
        self._step = 0
        if reweighting is not None:
            steps = self._plan.n_batches(*self._plan_inputs, self._batch_rows())
            self._warmup = reweighting.warmup_steps(epochs * steps)
        generator = torch.Generator().manual_seed(int(seed))
        batch_cbs = [cb for _, cb in self.callbacks_ if _uses_batch_hooks(cb)]
        name = getattr(self.criterion_, "name", None) or type(self.criterion_).__name__
        with trusted_targets():  # labels were encoded by the estimator
            self._epochs(epochs, X, valid, generator, batch_cbs, score_fn, name)
        return self

    def _batch_rows(self):
        """Rows per batch for the plan (``batch_size <= 0``: the training rows)."""
        return self.batch_size if self.batch_size > 0 else self._plan_inputs[0].shape[0]

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
        """One epoch: the plan's batches, gathered once, cut into slices. Returns
        the mean batch loss weighted by the batch sizes."""
        module, optimizer = self.module_, self.optimizer_
        self._set_training(True)
        order, sizes = epoch_indices(
            self._plan, *self._plan_inputs, self._batch_rows(), generator
        )
        order = order.to(data["y"].device)
        data = {k: data[k].index_select(0, order) for k in self._batch_keys}
        X, y = data.pop("X"), data.pop("y")
        weight = data.pop("sample_weight", None)
        losses = []
        stop = 0
        for size in sizes:
            start, stop = stop, stop + size
            xb, yb = X[start:stop], y[start:stop]
            wb = None if weight is None else weight[start:stop]
            context = {k: v[start:stop] for k, v in data.items()}
            gb = context.get("groups") if self._module_groups else None
            if not self._loss_groups:
                context.pop("groups", None)
            if self._engine_keys:
                context.update(self._engine_context(xb))
            if batch_cbs:
                self.notify("on_batch_begin", batch=(xb, yb), training=True)
            optimizer.zero_grad(set_to_none=True)
            y_pred = module(xb) if gb is None else module(xb, groups=gb)
            if self._reweighting is not None:
                self._step += 1
            if self._members == 1:
                loss = self._batch_loss(y_pred, yb, wb, context)
            else:
                loss = self._ensemble_loss(y_pred, yb, wb, context)
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
        weights = torch.tensor(sizes, dtype=torch.float32, device=y.device)
        return float((torch.stack(losses).float() * weights).sum() / stop)

    def _ensemble_loss(self, y_pred, yb, wb, context):
        """The mean of the members' losses for an ensemble's output ``(B, k, ...)``.

        A per-sample loss without other inputs takes the ``k`` members' rows
        in one call (its weighted mean over ``k B`` rows, each row's weight
        repeated, is the mean of the members' weighted means); any other loss
        is called once per member, with ``module`` seen as that member alone.
        """
        k = self._members
        if self._flat_members:  # such a loss has no context
            flat = y_pred.transpose(0, 1).reshape(
                k * y_pred.shape[0], *y_pred.shape[2:]
            )
            wk = None if wb is None else wb.repeat(k)
            yk = yb.repeat(k, *([1] * (yb.ndim - 1)))
            return self.criterion_(flat, yk, sample_weight=wk)
        losses = []
        for m in range(k):
            if "module" in context:
                context = {**context, "module": _Member(self.module_, m)}
            losses.append(self._batch_loss(y_pred[:, m], yb, wb, context))
        return torch.stack(losses).mean()

    def _batch_loss(self, y_pred, yb, wb, context):
        """The loss of one batch's outputs (of one ensemble member)."""
        if self._reweighting is None:
            return self.criterion_(y_pred, yb, sample_weight=wb, **context)
        return self._reweighted_loss(y_pred, yb, wb, context)

    def _reweighted_loss(self, y_pred, yb, wb, context):
        """Loss of the batch with dynamic per-sample multipliers (after warm-up)."""
        criterion = self.criterion_
        terms = criterion.loss_terms(y_pred, yb, **context)
        if self._step > self._warmup:
            m = self._reweighting.multipliers(terms, wb)
            wb = m if wb is None else wb * m
        return weighted_reduce(terms, wb, "mean")

    def _engine_context(self, X):
        values = {"X": X, "module": self.module_, "epoch": len(self.history)}
        return {k: values[k] for k in self._engine_keys}

    def _evaluate(self, data, score_fn):
        self._set_training(False)
        logits = self.forward_tensor(data["X"], groups=data.get("groups"))
        extra = {
            k: data[k] for k in self._batch_keys if k not in ("X", "y", "sample_weight")
        }
        if not self._loss_groups:
            extra.pop("groups", None)
        if self._engine_keys:
            extra.update(self._engine_context(data["X"]))
        with torch.no_grad():
            loss = self.criterion_(
                logits, data["y"], sample_weight=data.get("sample_weight"), **extra
            )
        score = float("nan")
        if score_fn is not None:
            if hasattr(self.module_, "rank_scores"):
                logits = self.forward_tensor(
                    data["X"], groups=data.get("groups"), method="rank_scores"
                )
            score = score_fn(logits)
        return float(loss), float(score)

    # -- inference ------------------------------------------------------------
    def forward_tensor(self, X, groups=None, chunk_size=PREDICT_CHUNK, method=None):
        """Module output for a tensor already on the device, in eval mode.

        The output has one row per row of ``X`` and any shape ``(n, ...)``.
        Without ``groups`` every module call takes exactly ``chunk_size`` rows,
        so that a row's output does not depend on the other rows predicted with
        it (float32 kernels choose their blocking by shape and differ in the
        last bits): consecutive chunks, then the last ``chunk_size`` rows for
        the rest (overlapping the previous chunk, whose outputs are kept); fewer
        rows than ``chunk_size`` are repeated to fill one call. With ``groups``
        (one id per row) every call holds whole groups, up to ``chunk_size``
        rows or one larger group, for modules that read a group at once.
        ``method`` names another method of the module to call instead of
        ``forward`` with the same arguments (``"rank_scores"``: one ranking
        score per row, for a module whose outputs are not scores).
        """
        self._set_training(False)
        with torch.inference_mode():
            if groups is not None:
                return self._forward_groups(X, groups, chunk_size, method)
            return self._forward_rows(X, chunk_size, method)

    def _forward_rows(self, X, size, method=None):
        n = X.shape[0]
        module = self.module_ if method is None else getattr(self.module_, method)
        if takes_groups(self.module_):
            return module(X)  # one set: never split nor padded with repeated rows
        if n == 0:
            return module(X)
        if n < size:
            return module(X[torch.arange(size, device=X.device) % n])[:n]
        starts = range(0, n - size + 1, size)
        outs = [module(X[start : start + size]) for start in starts]
        rest = n % size
        if rest:
            outs.append(module(X[n - size :])[size - rest :])
        return torch.cat(outs) if len(outs) != 1 else outs[0]

    def _forward_groups(self, X, groups, size, method=None):
        chunks = [idx.to(X.device) for idx in group_chunks(groups.cpu(), size)]
        groups = groups.to(X.device)
        module = self.module_ if method is None else getattr(self.module_, method)
        if takes_groups(self.module_):
            outs = [module(X[idx], groups=groups[idx]) for idx in chunks]
        else:
            outs = [module(X[idx]) for idx in chunks]
        out = torch.cat(outs)
        return out[torch.argsort(torch.cat(chunks))]


class _Member(torch.nn.Module):
    """Member ``m`` of an ensemble module, for a loss that calls the network
    itself: its training output is the member's slice ``[:, m]``; in evaluation
    mode, the ensemble's mean (what the ensemble predicts)."""

    def __init__(self, module, m):
        super().__init__()
        self.module, self.m = module, m

    def forward(self, *args, **kwargs):
        out = self.module(*args, **kwargs)
        return out[:, self.m] if self.module.training else out


def n_members(module):
    """The number of ensemble members of ``module``: a module that trains
    ``k > 1`` members in one pass declares ``n_members = k`` and returns
    outputs of shape ``(n, k, ...)`` in training mode (the engine applies the
    loss to each member's ``[:, m]`` and averages) and the members' mean in
    evaluation mode."""
    return int(getattr(module, "n_members", 1) or 1)


def takes_groups(module):
    """Whether ``module`` scores rows in the context of their group: such a
    module declares ``takes_groups = True`` and is called as
    ``module(X, groups=g)`` with whole groups (training batches, validation and
    prediction chunks)."""
    return bool(getattr(module, "takes_groups", False))
