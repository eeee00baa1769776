"""The search_space syntax shared by dlwp tune and the Optuna sweeper: parsing, sampling, errors."""

import random

import pytest

from dlwp_cli.config import search_space
from dlwp_cli.errors import ConfigError

BOOK_LIKE = {
    "model.units": "choice([16,16],[64,64])",
    "optimizer": {"learning_rate": "tag(log, interval(1e-4,1e-2))"},
    "model.filters": "range(16,65,16)",
    "model.depth": "int(interval(1,4))",
    "optimizer._target_": "choice(adam,rmsprop)",
}


def dims_by_key():
    return {dim.key: dim for dim in search_space.parse(BOOK_LIKE)}


def test_every_kind_is_read_with_its_bounds():
    dims = dims_by_key()
    assert list(dims) == ["model.units", "optimizer.learning_rate", "model.filters", "model.depth",
                          "optimizer._target_"]  # nested mappings flatten to dotted keys, in order
    assert dims["model.units"].grid() == [[16, 16], [64, 64]]
    lr = dims["optimizer.learning_rate"]
    assert (lr.kind, lr.low, lr.high, lr.log, lr.integer) == ("interval", 1e-4, 1e-2, True, False)
    assert dims["model.filters"].grid() == [16, 32, 48, 64]  # stop excluded, as in Python
    depth = dims["model.depth"]
    assert (depth.kind, depth.integer) == ("interval", True)


def test_samples_stay_inside_their_dimension_and_log_scale_spreads_over_decades():
    dims = dims_by_key()
    rng = random.Random(0)
    rates = [dims["optimizer.learning_rate"].sample(rng) for _ in range(2000)]
    assert all(1e-4 <= r <= 1e-2 for r in rates)
    below_1e3 = sum(r < 1e-3 for r in rates) / len(rates)
    assert 0.45 < below_1e3 < 0.55  # log-uniform: half the draws in each decade (uniform would give ~9 %)
    depths = {dims["model.depth"].sample(rng) for _ in range(200)}
    assert depths == {1, 2, 3, 4}
    assert dims["optimizer.learning_rate"].default() == pytest.approx(1e-3)


def test_overrides_are_hydra_text_that_round_trips():
    from hydra.core.override_parser.overrides_parser import OverridesParser

    overrides = search_space.sample_overrides(search_space.parse(BOOK_LIKE), seed=3)
    parsed = OverridesParser.create().parse_overrides(overrides)
    values = {o.key_or_group: o.value() for o in parsed}
    assert values["model.units"] in ([16, 16], [64, 64])
    assert values["model.filters"] in (16, 32, 48, 64)
    assert values["optimizer._target_"] in ("adam", "rmsprop")
    assert search_space.sample_overrides(search_space.parse(BOOK_LIKE), seed=3) == overrides  # seeded


@pytest.mark.parametrize("space, message", [
    ({}, "search_space is empty"),
    ({"a": "interval(2,1)"}, "low > high"),
    ({"a": "range(5,1)"}, "is empty"),
    ({"a": "0.3"}, "single value, not a search"),
    ({"a": 3}, "expected a sweep expression"),
    ({"a": "choice("}, "cannot read"),
    ({"a": "tag(log, interval(0,1))"}, "above 0"),
])
def test_bad_spaces_name_the_entry(space, message):
    with pytest.raises(ConfigError, match=message) as err:
        search_space.parse(space)
    if space:
        assert "search_space.a" in str(err.value)
