"""Tests of the loss registry: names, aliases, building and grids."""

import pytest
import torch
from scipy.stats import loguniform, uniform

import sklearn_losses
from sklearn_losses import loss_param_grid
from sklearn_losses.losses import (
    TASKS,
    BaseLoss,
    CrossEntropyLoss,
    FocalLoss,
    _registry,
    check_loss_task,
    get_loss,
    get_loss_class,
    list_losses,
    register_loss,
)


@pytest.fixture
def clean_registry():
    """Restore the registry in place after a test that registers throwaway losses."""
    registry = dict(_registry._REGISTRY)
    aliases = dict(_registry._ALIASES)
    try:
        yield
    finally:
        _registry._REGISTRY.clear()
        _registry._REGISTRY.update(registry)
        _registry._ALIASES.clear()
        _registry._ALIASES.update(aliases)


def _make_loss_class(name, tasks=("binary",), aliases=()):
    """A throwaway BaseLoss subclass (not registered)."""

    class _Dummy(BaseLoss):
        def loss_terms(self, input, target):
            return input

    _Dummy.name = name
    _Dummy.tasks = frozenset(tasks)
    _Dummy.aliases = tuple(aliases)
    _Dummy.__name__ = f"Dummy_{name}"
    return _Dummy


# -- list_losses --------------------------------------------------------------
def test_list_losses_contains_builtins():
    names = list_losses()
    assert "cross_entropy" in names
    assert "focal" in names
    assert names == sorted(names)
    # aliases are resolvable but not listed as separate losses
    assert "ce" not in names
    assert "focal_loss" not in names


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_list_losses_by_task(task):
    names = list_losses(task)
    assert {"cross_entropy", "focal"} <= set(names)
    for name in names:
        assert task in get_loss_class(name).tasks


@pytest.mark.parametrize("task", TASKS)
def test_list_losses_every_task_is_subset(task):
    assert set(list_losses(task)) <= set(list_losses())


@pytest.mark.parametrize("task", ["nonsense", "Binary", "", 3])
def test_list_losses_unknown_task(task):
    with pytest.raises(ValueError, match="task"):
        list_losses(task)


# -- get_loss by name ---------------------------------------------------------
def test_get_loss_focal_with_params():
    loss = get_loss("focal", gamma=1.0)
    assert type(loss) is FocalLoss
    assert loss.gamma == 1.0
    assert loss.get_params() == {"alpha": None, "gamma": 1.0, "reduction": "mean"}


def test_get_loss_is_reexported():
    assert sklearn_losses.get_loss is get_loss
    assert sklearn_losses.list_losses is list_losses
    assert sklearn_losses.loss_param_grid is loss_param_grid


@pytest.mark.parametrize(
    ("spec", "cls"),
    [
        ("cross_entropy", CrossEntropyLoss),
        ("ce", CrossEntropyLoss),
        ("log_loss", CrossEntropyLoss),
        ("logistic", CrossEntropyLoss),
        ("focal", FocalLoss),
        ("focal_loss", FocalLoss),
        ("FOCAL", FocalLoss),
        ("Focal", FocalLoss),
        ("CE", CrossEntropyLoss),
        ("Cross_Entropy", CrossEntropyLoss),
        ("Focal_Loss", FocalLoss),
        ("  focal ", FocalLoss),
    ],
)
def test_get_loss_names_aliases_and_case(spec, cls):
    assert get_loss_class(spec) is cls
    loss = get_loss(spec)
    assert type(loss) is cls
    assert loss.get_params() == cls().get_params()


def test_get_loss_returns_fresh_objects():
    assert get_loss("focal") is not get_loss("focal")


@pytest.mark.parametrize(
    ("spec", "closest"),
    [
        ("focl", "focal"),
        ("cross_entropi", "cross_entropy"),
        ("focal_los", "focal_loss"),
    ],
)
def test_get_loss_unknown_name_suggests_closest(spec, closest):
    with pytest.raises(ValueError, match="Unknown loss") as info:
        get_loss(spec)
    message = str(info.value)
    assert f"Did you mean {closest!r}" in message
    for name in ("cross_entropy", "focal", "ce", "focal_loss"):
        assert name in message


def test_get_loss_unknown_name_without_close_match():
    with pytest.raises(ValueError, match="Valid names") as info:
        get_loss("zzzzzzzz")
    assert "Did you mean" not in str(info.value)
    assert "cross_entropy" in str(info.value)


def test_get_loss_unknown_parameter_suggests_closest():
    with pytest.raises(ValueError, match="'gama'") as info:
        get_loss("focal", gama=1)
    assert "Did you mean 'gamma'" in str(info.value)
    assert "alpha" in str(info.value)  # valid parameters are listed


@pytest.mark.parametrize(
    ("spec", "params"),
    [
        ("cross_entropy", {"gamma": 2.0}),
        ("focal", {"label_smoothing": 0.1}),
        ("ce", {"smoothing": 0.1}),
        (FocalLoss, {"gama": 1}),
        (FocalLoss(), {"gama": 1}),
    ],
)
def test_get_loss_rejects_parameters_of_other_losses(spec, params):
    (key,) = params
    with pytest.raises(ValueError, match=repr(key)):
        get_loss(spec, **params)


# -- get_loss by class / instance ---------------------------------------------
def test_get_loss_with_class():
    loss = get_loss(FocalLoss, gamma=0.5, reduction="sum")
    assert type(loss) is FocalLoss
    assert loss.get_params() == {"alpha": None, "gamma": 0.5, "reduction": "sum"}
    assert type(get_loss(CrossEntropyLoss)) is CrossEntropyLoss


@pytest.mark.parametrize(
    "original",
    [
        FocalLoss(gamma=1.0, alpha=[0.25, 0.5, 0.25], reduction="sum"),
        FocalLoss(gamma=0.5, alpha=0.25),
        CrossEntropyLoss(label_smoothing=0.1, reduction="none"),
    ],
    ids=["focal-list-alpha", "focal-float-alpha", "ce"],
)
def test_get_loss_with_instance_copies(original):
    before = original.get_params()
    loss = get_loss(original)
    assert loss is not original
    assert type(loss) is type(original)
    assert loss.get_params() == before
    assert original.get_params() == before
    for mine, theirs in zip(loss.buffers(), original.buffers()):
        assert mine is not theirs
        torch.testing.assert_close(mine, theirs)


def test_get_loss_with_instance_applies_overrides_without_mutating():
    original = FocalLoss(gamma=1.0, alpha=[0.25, 0.75])
    loss = get_loss(original, gamma=3.0)
    assert loss is not original
    assert loss.gamma == 3.0
    assert loss.alpha == [0.25, 0.75]
    assert loss.reduction == "mean"
    assert original.gamma == 1.0
    assert original.get_params() == {
        "alpha": [0.25, 0.75],
        "gamma": 1.0,
        "reduction": "mean",
    }
    loss = get_loss(original, alpha=None)
    assert loss.alpha is None and loss._alpha is None
    assert original._alpha is not None


def test_get_loss_instance_override_is_validated():
    with pytest.raises(ValueError, match="gamma"):
        get_loss(FocalLoss(), gamma=-1.0)


@pytest.mark.parametrize(
    "spec",
    [
        3,
        None,
        2.5,
        torch.nn.MSELoss,
        torch.nn.MSELoss(),
        object,
        ["focal"],
        BaseLoss.forward,
    ],
    ids=["int", "none", "float", "mse-class", "mse-instance", "object", "list", "func"],
)
def test_get_loss_non_loss_spec_raises_type_error(spec):
    with pytest.raises(TypeError, match="BaseLoss"):
        get_loss(spec)
    with pytest.raises(TypeError):
        get_loss_class(spec)


# -- check_loss_task ----------------------------------------------------------
@pytest.mark.parametrize("spec", [CrossEntropyLoss, CrossEntropyLoss(), "ce"])
def test_check_loss_task_unsupported(spec):
    with pytest.raises(ValueError, match="'ranking'") as info:
        check_loss_task(spec, "ranking")
    assert "cross_entropy" in str(info.value)


@pytest.mark.parametrize("spec", ["cross_entropy", "focal", FocalLoss, FocalLoss()])
@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_check_loss_task_supported(spec, task):
    assert check_loss_task(spec, task) is None


def test_check_loss_task_unknown_name():
    with pytest.raises(ValueError, match="Unknown loss"):
        check_loss_task("focl", "binary")


# -- loss_param_grid ----------------------------------------------------------
def test_loss_param_grid_with_prefix():
    grid = loss_param_grid(
        {"cross_entropy": {}, "focal": {"gamma": [1.0, 2.0]}}, prefix="clf__"
    )
    assert grid == [
        {"clf__loss": ["cross_entropy"]},
        {"clf__loss": ["focal"], "clf__loss__gamma": [1.0, 2.0]},
    ]


def test_loss_param_grid_without_prefix_and_scalars():
    grid = loss_param_grid(
        {
            "ce": None,
            "focal": {"gamma": 2.0, "alpha": [None, 0.25], "reduction": "mean"},
        }
    )
    assert grid == [
        {"loss": ["ce"]},
        {
            "loss": ["focal"],
            "loss__gamma": [2.0],
            "loss__alpha": [None, 0.25],
            "loss__reduction": ["mean"],
        },
    ]


def test_loss_param_grid_accepts_tuples_and_ranges():
    grid = loss_param_grid({"focal": {"gamma": (0.0, 1.0), "reduction": ("sum",)}})
    assert grid == [
        {"loss": ["focal"], "loss__gamma": [0.0, 1.0], "loss__reduction": ["sum"]}
    ]


@pytest.mark.parametrize(
    ("losses", "bad"),
    [
        ({"cross_entropy": {"gamma": [1.0]}}, "gamma"),
        ({"focal": {"gama": [1.0]}}, "gama"),
        (
            {"focal": {"gamma": [1.0]}, "ce": {"label_smothing": [0.1]}},
            "label_smothing",
        ),
    ],
)
def test_loss_param_grid_bad_param(losses, bad):
    with pytest.raises(ValueError, match=repr(bad)):
        loss_param_grid(losses)


def test_loss_param_grid_unknown_loss():
    with pytest.raises(ValueError, match="Unknown loss"):
        loss_param_grid({"focl": {}})


def test_loss_param_grid_passes_distributions_through():
    gamma, lr = uniform(0, 3), loguniform(1e-4, 1e-1)
    grid = loss_param_grid({"focal": {"gamma": gamma, "lr": lr}}, prefix="clf__")
    assert grid == [{"clf__loss": ["focal"], "clf__loss__gamma": gamma, "clf__lr": lr}]
    assert grid[0]["clf__loss__gamma"] is gamma


def test_loss_param_grid_estimator_params_per_loss():
    grid = loss_param_grid(
        {
            "cross_entropy": {"lr": 0.1, "hidden_layer_sizes": [(8,), (16, 16)]},
            "focal": {
                "gamma": [1],
                "lr": [0.01],
                "class_weight": {0: 1, 1: 3},
                "module__bias": [False],
                "optimizer__momentum": [0.9],
            },
        },
        prefix="clf__",
    )
    assert grid == [
        {
            "clf__loss": ["cross_entropy"],
            "clf__lr": [0.1],
            "clf__hidden_layer_sizes": [(8,), (16, 16)],
        },
        {
            "clf__loss": ["focal"],
            "clf__loss__gamma": [1],
            "clf__lr": [0.01],
            "clf__class_weight": [{0: 1, 1: 3}],
            "clf__module__bias": [False],
            "clf__optimizer__momentum": [0.9],
        },
    ]


def test_loss_param_grid_a_loss_param_wins_over_an_estimator_param():
    grid = loss_param_grid({"ensloss": {"random_state": [0]}})
    assert grid == [{"loss": ["ensloss"], "loss__random_state": [0]}]


@pytest.mark.parametrize(
    ("params", "pattern"),
    [
        (
            {"foo": [1]},
            r"'foo'.*'focal' \(alpha, gamma, reduction\).*LossClassifier.*lr",
        ),
        ({"l": [0.1]}, r"'l'.*Did you mean 'lr'"),
        ({"loss": ["cross_entropy"]}, r"'loss'.*without the loss__ prefix"),
        ({"loss__gamma": [1.0]}, r"'loss__gamma'.*without the loss__ prefix"),
        ({"nope__x": [1]}, r"'nope__x'.*module__<name>"),
    ],
)
def test_loss_param_grid_unknown_name_lists_both(params, pattern):
    with pytest.raises(ValueError, match=pattern):
        loss_param_grid({"focal": params})


def test_loss_param_grid_estimator_argument():
    from sklearn_losses import LossClassifier

    class WideClassifier(LossClassifier):
        def __init__(self, loss="cross_entropy", *, width=8, **kwargs):
            super().__init__(loss, **kwargs)
            self.width = width

    grid = loss_param_grid({"focal": {"width": [4]}}, estimator=WideClassifier())
    assert grid == [{"loss": ["focal"], "width": [4]}]
    with pytest.raises(ValueError, match="'width'"):
        loss_param_grid({"focal": {"width": [4]}})
    with pytest.raises(TypeError, match="estimator"):
        loss_param_grid({"focal": {}}, estimator=dict)


@pytest.mark.parametrize(
    ("losses", "pattern"),
    [([("focal", {})], "losses must be a dict"), ({"focal": [1.0]}, "'focal'")],
)
def test_loss_param_grid_bad_structure(losses, pattern):
    with pytest.raises(TypeError, match=pattern):
        loss_param_grid(losses)


# -- register_loss ------------------------------------------------------------
def test_register_loss_roundtrip(clean_registry):
    cls = _make_loss_class(
        "_test_dummy_xyz", tasks=("ranking",), aliases=("_test_dxyz",)
    )
    assert register_loss(cls) is cls
    assert get_loss_class("_test_dummy_xyz") is cls
    assert get_loss_class("_test_dxyz") is cls
    assert type(get_loss("_test_dummy_xyz")) is cls
    assert "_test_dummy_xyz" in list_losses("ranking")
    check_loss_task("_test_dummy_xyz", "ranking")
    # registering the same class again is harmless
    assert register_loss(cls) is cls


def test_clean_registry_fixture_restored():
    # Runs after test_register_loss_roundtrip in file order (and passes alone).
    assert "_test_dummy_xyz" not in _registry._REGISTRY
    assert "_test_dxyz" not in _registry._ALIASES
    assert "_test_dummy_xyz" not in list_losses()


@pytest.mark.parametrize("name", [None, ""])
def test_register_loss_without_name(clean_registry, name):
    cls = _make_loss_class(name)
    with pytest.raises(ValueError, match="name"):
        register_loss(cls)


@pytest.mark.parametrize("tasks", [(), ("nonsense",), ("binary", "ranknig")])
def test_register_loss_bad_tasks(clean_registry, tasks):
    cls = _make_loss_class("_test_dummy_tasks_xyz", tasks=tasks)
    with pytest.raises(ValueError, match="tasks"):
        register_loss(cls)
    assert "_test_dummy_tasks_xyz" not in _registry._REGISTRY


@pytest.mark.parametrize(
    ("name", "aliases", "taken"),
    [
        ("focal", (), "focal"),
        ("cross_entropy", (), "cross_entropy"),
        ("focal_loss", (), "focal_loss"),  # a name equal to another's alias
        ("_test_dummy_dup_xyz", ("ce",), "ce"),  # an alias equal to another's alias
        ("_test_dummy_dup_xyz", ("focal",), "focal"),  # an alias equal to a name
    ],
)
def test_register_loss_duplicate_name(clean_registry, name, aliases, taken):
    cls = _make_loss_class(name, aliases=aliases)
    with pytest.raises(ValueError, match=f"{taken!r} is already taken"):
        register_loss(cls)
    # the registry is left untouched
    assert "_test_dummy_dup_xyz" not in _registry._REGISTRY
    assert get_loss_class("focal") is FocalLoss
    assert get_loss_class("ce") is CrossEntropyLoss


@pytest.mark.parametrize("obj", [3, "focal", torch.nn.MSELoss, FocalLoss()])
def test_register_loss_non_class(obj):
    with pytest.raises(TypeError):
        register_loss(obj)


def test_register_loss_mixed_case_name_is_reachable_or_refused(clean_registry):
    cls = _make_loss_class("_Test_Dummy_Case_Xyz")
    try:
        register_loss(cls)
    except ValueError:
        return  # refusing a non-lower-case name is an acceptable fix too
    assert get_loss_class("_Test_Dummy_Case_Xyz") is cls
