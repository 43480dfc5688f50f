"""Batch plans: sizes and coverage of an epoch, whole groups, m rows per class,
determinism from the generator, user-written plans, and their errors."""

import math

import numpy as np
import pytest
import torch
from sklearn.base import clone
from skorch.callbacks import Callback

from sklearn_losses import LossClassifier
from sklearn_losses.sampling import (
    BatchPlan,
    ClassShareBatches,
    GroupBatches,
    MPerClassBatches,
    RandomBatches,
    StratifiedBatches,
)
from sklearn_losses.sampling._batches import (
    epoch_indices,
    group_chunks,
    proportion_permutation,
    stratified_permutation,
)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _labels(n_per_class, seed=0):
    y = np.concatenate([np.full(k, c) for c, k in enumerate(n_per_class)])
    return torch.as_tensor(np.random.RandomState(seed).permutation(y))


def _groups(sizes, seed=0):
    """Group ids (shuffled over the rows) with the given group sizes."""
    ids = np.concatenate([np.full(k, 10 * g + 7) for g, k in enumerate(sizes)])
    return torch.as_tensor(np.random.RandomState(seed).permutation(ids))


def _draw(plan, y, groups=None, batch_size=32, seed=0):
    return [b.clone() for b in plan.batches(y, groups, batch_size, _gen(seed))]


Y = _labels((300, 60, 20))
GROUPS = _groups([1, 5, 9, 3, 12, 7, 2, 30, 4, 8] * 4 + [20, 16, 10, 6, 4])  # 380 rows
PLANS = {
    "random": RandomBatches(),
    "stratified": StratifiedBatches(),
    "balanced": ClassShareBatches(),
    "shares": ClassShareBatches((0.5, 0.3, 0.2)),
    "groups": GroupBatches(),
    "m_per_class": MPerClassBatches(m=4),
}


# -- every plan ---------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(PLANS))
def test_batches_are_row_indices_and_deterministic(name):
    plan = PLANS[name]
    batches = _draw(plan, Y, GROUPS)
    for b in batches:
        assert b.ndim == 1 and b.dtype == torch.int64
        assert 0 <= int(b.min()) and int(b.max()) < len(Y)
    again, other = _draw(plan, Y, GROUPS), _draw(plan, Y, GROUPS, seed=1)
    assert all(torch.equal(a, b) for a, b in zip(batches, again))
    assert len(batches) == len(again)
    assert not torch.equal(torch.cat(batches), torch.cat(other))
    assert plan.n_batches(Y, GROUPS, 32) == len(batches)


@pytest.mark.parametrize("name", sorted(PLANS))
def test_plans_are_sklearn_objects(name):
    plan = PLANS[name]
    twin = clone(plan)
    assert twin is not plan and twin.get_params() == plan.get_params()


# -- rows: random and stratified ------------------------------------------------------
@pytest.mark.parametrize("plan", [RandomBatches(), StratifiedBatches()])
def test_every_row_once_in_slices_of_batch_size(plan):
    batches = _draw(plan, Y, batch_size=50)
    assert [len(b) for b in batches] == [50] * 7 + [30]
    assert sorted(torch.cat(batches).tolist()) == list(range(380))


def test_stratified_batches_hold_every_class_in_proportion():
    for b in _draw(StratifiedBatches(), Y, batch_size=38):
        counts = torch.bincount(Y[b], minlength=3).numpy()
        assert np.all(np.abs(counts - np.array([30, 6, 2])) <= 1)


def test_random_batches_are_todays_permutation():
    # The default plan draws exactly what one randperm per epoch drew before.
    batches = _draw(RandomBatches(), Y, batch_size=64)
    assert torch.equal(torch.cat(batches), torch.randperm(len(Y), generator=_gen()))


def test_stratified_permutation_blocks():
    y = _labels((950, 50))
    perm = stratified_permutation(y, _gen())
    assert sorted(perm.tolist()) == list(range(1000))
    for i in range(0, 1000, 100):
        assert abs(int(y[perm[i : i + 100]].sum()) - 5) <= 1


# -- class shares ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "counts, shares",
    [
        ((900, 100), (0.5, 0.5)),
        ((900, 100), (0.7, 0.3)),
        ((100, 900), (0.5, 0.5)),  # the positives are the majority
        ((500, 300, 20), (1 / 3, 1 / 3, 1 / 3)),
        ((50, 50), (0.9, 0.1)),  # fewer positives than their natural share
    ],
)
def test_proportion_permutation_shares_and_coverage(counts, shares):
    y = _labels(counts)
    perm = proportion_permutation(y, shares, _gen())
    m = max(math.ceil(n / s - 1e-9) for n, s in zip(counts, shares))
    assert perm.shape == (m,)
    # Every row at least once; the class that sets m exactly once.
    seen = np.bincount(perm.numpy(), minlength=len(y))
    assert seen.min() >= 1
    limiting = int(np.argmax([n / s for n, s in zip(counts, shares)]))
    assert np.all(seen[y.numpy() == limiting] == 1)
    # Repeats of a class differ by at most one between its rows (cycled shuffles).
    for c in range(len(counts)):
        per_row = seen[y.numpy() == c]
        assert per_row.max() - per_row.min() <= 1
    # Every block of b rows holds its share of each class, +-1.
    labels = y[perm].numpy()
    for b in (16, 64, 100):
        for start in range(0, m - b + 1, b):
            block = labels[start : start + b]
            for c, s in enumerate(shares):
                assert abs((block == c).sum() - s * b) <= 1.0 + 1e-9


@pytest.mark.parametrize(
    "shares, expected", [("balanced", (1 / 3, 1 / 3, 1 / 3)), ((0.5, 0.3, 0.2), None)]
)
def test_class_share_batches(shares, expected):
    expected = expected or shares
    batches = _draw(ClassShareBatches(shares), Y, batch_size=50)
    rows = math.ceil(max(n / s - 1e-9 for n, s in zip((300, 60, 20), expected)))
    assert sum(len(b) for b in batches) == rows
    assert [len(b) for b in batches[:-1]] == [50] * (len(batches) - 1)
    for b in batches[:-1]:
        counts = torch.bincount(Y[b], minlength=3).numpy()
        assert np.all(np.abs(counts - 50 * np.array(expected)) <= 1 + 1e-9)


@pytest.mark.parametrize(
    "shares, y, match",
    [
        ((0.5, 0.6), Y, r"shares must be 'balanced' or a sequence"),
        ((1.0,), Y, r"shares must be"),
        ("equal", Y, r"shares must be"),
        ((0.5, 0.5), Y, r"ClassShareBatches\(shares=\(0.5, 0.5\)\) gives shares to 2 "),
        (
            (0.5, 0.5),
            torch.zeros(10, dtype=torch.long),
            r"class indices \[1\] have none",
        ),
        ("balanced", torch.tensor([0, 2, 2]), r"class indices \[1\] have none"),
    ],
)
def test_class_share_errors(shares, y, match):
    with pytest.raises(ValueError, match=match):
        ClassShareBatches(shares).batches(y, None, 4, _gen())


# -- whole groups ----------------------------------------------------------------------
def _group_of_batches(batches, groups):
    """{group id: indices of the batches holding its rows}."""
    where = {}
    for i, b in enumerate(batches):
        for g in groups[b].tolist():
            where.setdefault(g, set()).add(i)
    return where


@pytest.mark.parametrize("batch_size", [30, 64, 1000])
def test_every_group_whole_and_in_exactly_one_batch(batch_size):
    y = torch.zeros(len(GROUPS), dtype=torch.long)
    batches = _draw(GroupBatches(), y, GROUPS, batch_size)
    rows = torch.cat(batches)
    assert sorted(rows.tolist()) == list(range(len(GROUPS)))  # every row once
    where = _group_of_batches(batches, GROUPS)
    assert set(where) == set(GROUPS.tolist())
    assert all(len(batch_ids) == 1 for batch_ids in where.values())
    assert all(len(b) <= batch_size for b in batches)
    # Next-fit packing: a batch is closed only when the next group does not fit.
    for b, following in zip(batches, batches[1:]):
        first = GROUPS[following[0]]
        assert len(b) + int((GROUPS == first).sum()) > batch_size


def test_groups_are_shuffled_each_epoch():
    y = torch.zeros(len(GROUPS), dtype=torch.long)
    plan, generator = GroupBatches(), _gen()
    first = plan.batches(y, GROUPS, 64, generator)
    second = plan.batches(y, GROUPS, 64, generator)
    assert not torch.equal(torch.cat(first), torch.cat(second))


def test_group_larger_than_the_batch_says_so():
    groups = torch.tensor([1] * 3 + [2] * 40 + [3] * 35)
    with pytest.raises(
        ValueError,
        match=r"GroupBatches\(\): group 2 has 40 rows, more than batch_size=32 .*"
        r"2 group\(s\) are larger. Use batch_size >= 40",
    ):
        GroupBatches().batches(torch.zeros(78), groups, 32, _gen())


def test_group_batches_need_groups():
    with pytest.raises(ValueError, match=r"GroupBatches\(\) needs groups"):
        GroupBatches().batches(Y, None, 32, _gen())


def test_group_chunks_keep_groups_whole_in_id_order():
    groups = torch.tensor([5, 1, 5, 2, 1, 9, 9, 9, 9, 9, 2])
    chunks = [c.tolist() for c in group_chunks(groups, 4)]
    # Groups 1, 2 (4 rows), then 5 (2 rows), then 9 (5 rows: alone, larger).
    assert chunks == [[1, 4, 3, 10], [0, 2], [5, 6, 7, 8, 9]]


# -- m rows per class ------------------------------------------------------------------
@pytest.mark.parametrize("m, batch_size, k", [(4, 8, 2), (4, 10, 2), (2, 64, 3)])
def test_m_rows_of_each_class_per_batch(m, batch_size, k):
    batches = _draw(MPerClassBatches(m=m), Y, batch_size=batch_size)
    assert len(batches) == math.ceil(len(Y) / (k * m))
    for b in batches:
        classes, counts = torch.unique(Y[b], return_counts=True)
        assert len(classes) == k and torch.all(counts == m)
        assert len(set(b.tolist())) == len(b)  # no row twice in a batch


def test_m_per_class_draws_classes_uniformly_and_deals_every_row():
    batches = _draw(MPerClassBatches(m=5), Y, batch_size=10)
    # 38 batches of 2 of the 3 classes: about 25 draws of each class, whatever
    # its size (300, 60 or 20 rows).
    draws = torch.bincount(Y[torch.cat(batches)], minlength=3) / 5
    assert draws.sum() == 76 and draws.min() >= 0.75 * 76 / 3
    # The 20 rows of the rarest class are dealt from cycled shuffles: each row
    # appears as often as the others, +-1.
    rare = torch.bincount(torch.cat(batches), minlength=len(Y))[Y == 2]
    assert int(rare.max() - rare.min()) <= 1


@pytest.mark.parametrize(
    "m, batch_size, y, match",
    [
        (
            4,
            8,
            torch.tensor([0] * 10 + [1] * 3 + [2] * 2),
            r"MPerClassBatches\(\): class indices \[1, 2\] have fewer than m=4 "
            r"rows \(fewest: 2\)",
        ),
        (8, 4, Y, r"MPerClassBatches\(m=8\) needs batch_size >= m=8.*got batch_size=4"),
        (0, 4, Y, r"m must be an int >= 1; got 0"),
    ],
)
def test_m_per_class_errors(m, batch_size, y, match):
    with pytest.raises(ValueError, match=match):
        MPerClassBatches(m=m).batches(y, None, batch_size, _gen())


# -- what the engine takes from a plan ----------------------------------------------
class Listed(BatchPlan):
    """A user-written plan: the batches it is given, every epoch."""

    def __init__(self, given=()):
        self.given = given

    def batches(self, y, groups, batch_size, generator):
        return [torch.as_tensor(b, dtype=torch.long) for b in self.given]


def test_epoch_indices_concatenates_and_drops_empty_batches():
    order, sizes = epoch_indices(Listed([[3, 1], [], [0, 0, 2]]), Y, None, 8, _gen())
    assert order.tolist() == [3, 1, 0, 0, 2] and sizes == [2, 3]


@pytest.mark.parametrize(
    "batches, error, match",
    [
        (
            [[0, len(Y)]],
            ValueError,
            r"gave row index 380; the training rows are 0..379",
        ),
        ([[-1]], ValueError, "gave row index -1"),
        ([[]], ValueError, "gave no rows to train on"),
    ],
)
def test_epoch_indices_refuses_bad_batches(batches, error, match):
    with pytest.raises(error, match=match):
        epoch_indices(Listed(batches), Y, None, 8, _gen())


class Raw(BatchPlan):
    """A plan returning whatever it was given, unconverted."""

    def __init__(self, given=()):
        self.given = given

    def batches(self, y, groups, batch_size, generator):
        return self.given


@pytest.mark.parametrize(
    "batch, match",
    [
        (torch.tensor([0.0, 1.0]), "integer row indices; got dtype torch.float32"),
        (torch.tensor([True, False]), "integer row indices; got dtype torch.bool"),
        (
            torch.tensor([[0, 1]]),
            r"1-D tensors of row indices; got one of shape \(1, 2\)",
        ),
    ],
)
def test_epoch_indices_refuses_non_index_batches(batch, match):
    with pytest.raises(TypeError, match=match):
        epoch_indices(Raw([batch]), Y, None, 8, _gen())


def test_epoch_indices_takes_arrays_and_lists():
    order, sizes = epoch_indices(Raw([np.array([4, 2]), [1]]), Y, None, 8, _gen())
    assert order.tolist() == [4, 2, 1] and sizes == [2, 1]


def test_base_plan_must_implement_batches():
    with pytest.raises(NotImplementedError, match="must implement batches"):
        BatchPlan().batches(Y, None, 8, _gen())


class Recorder(Callback):
    """Records, per epoch, every training batch's rows (column 0 of X holds the
    row id) and loss."""

    def initialize(self):
        self.rows_, self.losses_ = [], []
        return self

    def on_epoch_begin(self, net, **kwargs):
        self.rows_.append([])
        self.losses_.append([])

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        if training:
            self.rows_[-1].append(batch[0][:, 0].round().long().tolist())
            self.losses_[-1].append(float(loss.detach()))


def _rows_and_labels(n=60):
    rng = np.random.RandomState(0)
    X = np.column_stack([np.arange(n), rng.normal(size=(n, 3))])
    y = (X[:, 1] + 0.5 * rng.normal(size=n) > 0).astype(int)
    return X, y


def _fit(X, y, plan, epochs=2, **fit_params):
    clf = LossClassifier(
        batch_sampler=plan,
        batch_size=16,
        max_epochs=epochs,
        hidden_layer_sizes=(4,),
        early_stopping=False,  # every row in the plan's batches
        input_scaling=None,  # column 0 of a batch is the row's id
        random_state=0,
        callbacks=[("rec", Recorder())],
    ).fit(X, y, **fit_params)
    return clf, dict(clf.net_.callbacks_)["rec"]


def test_a_user_written_plan_trains_the_classifier():
    X, y = _rows_and_labels()
    given = [[5, 3, 1], list(range(10, 40)), [0], [59, 58, 57, 56, 2, 2]]
    clf, rec = _fit(X, y, Listed(given))
    assert rec.rows_ == [given, given]  # the plan's batches, in order, each epoch
    sizes = np.array([len(b) for b in given])
    for epoch, losses in enumerate(rec.losses_):
        expected = (np.array(losses) * sizes).sum() / sizes.sum()
        assert clf.history_[epoch, "train_loss"] == pytest.approx(expected, rel=1e-6)
    assert clf.predict(X).shape == (60,)


def test_group_batches_through_the_classifier():
    X, y = _rows_and_labels(90)
    groups = np.repeat(np.arange(18), 5)[np.random.RandomState(1).permutation(90)]
    clf, rec = _fit(X, y, GroupBatches(), epochs=3, groups=groups)
    assert len(rec.rows_) == 3 and rec.rows_[0] != rec.rows_[1]
    for batches in rec.rows_:
        assert sorted(sum(batches, [])) == list(range(90))
        where = _group_of_batches([torch.tensor(b) for b in batches], groups)
        assert all(len(batch_ids) == 1 for batch_ids in where.values())
        assert all(len(b) <= 16 for b in batches)


def test_group_batches_with_early_stopping_and_reweighting():
    X, y = _rows_and_labels(90)
    groups = np.repeat(np.arange(30), 3)
    clf = LossClassifier(
        batch_sampler=GroupBatches(),
        batch_size=12,
        early_stopping=True,
        reweighting="linupper",
        max_epochs=2,
        random_state=0,
    ).fit(X, y, groups=groups)
    assert clf.n_iter_ == 2 and np.isfinite(clf.history_[-1, "valid_loss"])


def test_group_batches_need_groups_in_fit():
    X, y = _rows_and_labels()
    with pytest.raises(ValueError, match=r"needs \['groups'\] for each sample; pass "):
        LossClassifier(batch_sampler=GroupBatches(), max_epochs=1).fit(X, y)


def test_groups_without_a_plan_that_reads_them_are_accepted():
    """groups is an estimator input: with a row plan it still trains (and
    keeps the validation split grouped, see tests/estimators/test_fit_template.py)."""
    X, y = _rows_and_labels()
    clf = LossClassifier(max_epochs=1, random_state=0)
    clf.fit(X, y, groups=np.arange(60) // 3)
    np.testing.assert_array_equal(
        clf.predict(X),
        LossClassifier(max_epochs=1, random_state=0).fit(X, y).predict(X),
    )


def test_m_per_class_batches_through_the_classifier():
    X, y = _rows_and_labels()
    _, rec = _fit(X, y, MPerClassBatches(m=4))
    for batches in rec.rows_:
        assert len(batches) == math.ceil(60 / 8)
        for rows in batches:
            assert np.bincount(y[rows]).tolist() == [4, 4]


def test_an_unsatisfiable_plan_fails_the_fit_clearly():
    X, y = _rows_and_labels()
    y[:] = 0
    y[:3] = 1
    with pytest.raises(ValueError, match=r"class indices \[1\] have fewer than m=4"):
        _fit(X, y, MPerClassBatches(m=4))


def test_m_per_class_never_repeats_a_row_within_a_batch():
    """A draw of m rows must not cross from one shuffle of a class into the next
    (5 rows, m=3: the second draw of a shuffle would)."""
    y = torch.tensor([0] * 4 + [1] * 5)
    for seed in range(100):
        generator = torch.Generator().manual_seed(seed)
        for batch in MPerClassBatches(m=3).batches(y, None, 6, generator):
            assert len(set(batch.tolist())) == len(batch), (seed, batch.tolist())


def test_class_shares_draw_every_row_for_any_number_of_classes():
    """Every row at least once an epoch, and each class's draws within one of
    its share of the epoch (rounding had cut a class below its rows)."""
    rng = np.random.default_rng(0)
    cases = [(np.array([0, 1, 2, 2]), (0.3, 0.3, 0.4))]
    for _ in range(300):
        k = int(rng.integers(3, 6))
        counts = rng.integers(1, 6, k)
        cases.append(
            (np.repeat(np.arange(k), counts), tuple(rng.dirichlet(np.ones(k))))
        )
    for labels, shares in cases:
        y = torch.as_tensor(labels)
        epoch = proportion_permutation(y, shares, torch.Generator().manual_seed(0))
        assert set(epoch.tolist()) == set(range(len(labels))), (labels, shares)
        drawn = torch.bincount(y[epoch], minlength=len(shares)).numpy()
        exact = np.asarray(shares) * len(epoch)
        assert np.all(drawn >= np.bincount(labels)), (labels, shares, drawn)
        assert np.all((drawn <= np.ceil(exact + 1e-9)) | (drawn == np.bincount(labels)))
