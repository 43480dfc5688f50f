"""Callbacks the estimators add to the skorch engine."""

from __future__ import annotations

from skorch.callbacks import Callback

__all__ = ["EpochProgressBar"]


class EpochProgressBar(Callback):
    """A progress bar over epochs (``verbose=1``), showing the epoch's losses.

    One update per epoch, so it costs nothing in the training loop. The bar's
    last line (epochs run, time, the last epoch's losses) stays on stderr when
    the fit ends, as a log line.
    """

    keys = ("train_loss", "valid_loss", "valid_score")

    def on_train_begin(self, net, **kwargs):
        from tqdm.auto import tqdm

        self.bar_ = tqdm(total=net.max_epochs, unit="epoch", leave=True)

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        self.bar_.set_postfix(
            {k: f"{row[k]:.4g}" for k in self.keys if k in row}, refresh=False
        )
        self.bar_.update(1)

    def on_train_end(self, net, **kwargs):
        self.bar_.close()

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("bar_", None)
        return state
