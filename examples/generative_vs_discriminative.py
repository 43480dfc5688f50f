"""Naive Bayes against logistic regression on frozen features: learning curves.

The setting of Zheng et al. (2023): a linear head on features that a
backbone, fitted beforehand on other data, computes and never changes. The
generative head is ``SharedVarianceGaussianNB`` (one diagonal variance for all
classes: a linear classifier), the discriminative one ``LogisticRegression(C=1)``;
``dis_vs_gen_learning_curve`` draws ``m`` training rows (every class present),
min-max scales them, fits both and scores them on a fixed test set.

Digits is split in two halves: the "pre-training" half fits the feature maps
(PCA, and a ``LossEmbedder`` network trained with a metric-learning loss), the
other half is the downstream task with its learning curves. Prints one table
per feature set (mean test error of 10 draws per size), and draws the curves
when matplotlib is installed (``--plot out.png`` saves them).
Runs in a few seconds: ``python examples/generative_vs_discriminative.py``.
"""

import argparse

import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sklearn_losses import LossEmbedder, dis_vs_gen_learning_curve

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--plot", help="save the figure to this file instead of showing")
args = parser.parse_args()

X, y = load_digits(return_X_y=True)
X_pre, X_task, y_pre, y_task = train_test_split(
    X, y, test_size=0.5, stratify=y, random_state=0
)

# Hundreds of tiny fits: one BLAS / torch thread each is much faster than many.
torch.set_num_threads(1)
with threadpool_limits(limits=1):
    embedder = make_pipeline(
        StandardScaler(),
        LossEmbedder(n_components=16, max_epochs=20, random_state=0),
    ).fit(X_pre, y_pre)
    features = {
        "raw pixels (64)": X_task,
        "PCA (16)": PCA(16, random_state=0).fit(X_pre).transform(X_task),
        "LossEmbedder (16)": embedder.transform(X_task),
    }
    results = {
        name: dis_vs_gen_learning_curve(
            F, y_task, sizes=[10, 20, 50, 100, 200, 500], n_repeats=10, random_state=0
        )
        for name, F in features.items()
    }

for name, result in results.items():
    table = result.summary()["mean"].T
    table.columns = [f"m={m}" for m in table.columns]
    where = "never" if result.crossover is None else f"from m = {result.crossover}"
    print(f"\n{name}: mean test error; LR ahead for good: {where}")
    print(table.round(3).to_string())

try:
    import matplotlib

    if args.plot:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("\n(matplotlib is not installed: no figure)")
else:
    fig, axes = plt.subplots(1, len(results), figsize=(4 * len(results), 3.2))
    for ax, (name, result) in zip(axes, results.items()):
        summary = result.summary()
        for estimator in summary["mean"].columns:
            mean, sd = summary["mean"][estimator], summary["sd"][estimator]
            ax.plot(mean.index, mean, marker="o", label=estimator)
            ax.fill_between(mean.index, mean - sd, mean + sd, alpha=0.2)
        ax.set(xscale="log", title=name, xlabel="training rows m")
    axes[0].set_ylabel("test error")
    axes[0].legend()
    fig.tight_layout()
    if args.plot:
        fig.savefig(args.plot, dpi=120)
        print(f"\nfigure saved to {args.plot}")
    else:
        plt.show()
