"""The simulated floor's display names: stable, distinct, and valid in a config."""

from __future__ import annotations

from wallboard.config import parse_config
from wallboard.kiosk.config import KioskConfig
from wallboard.kiosk.view import who
from wallboard.sim.names import agents_toml, display_name, display_names


def test_names_are_stable_and_distinct_across_a_large_floor():
    names = display_names(2000)
    assert len(set(names.values())) == 2000
    assert names["a0001"] == display_name(0) == "Amara Okafor"
    assert display_names(200)["a017"] == display_name(16)


def test_neighbours_do_not_share_a_surname():
    surnames = [display_name(i).split()[1] for i in range(10)]  # one simulated team
    assert len(set(surnames)) == 10


def test_the_agents_tables_load_and_name_agents_on_both_audiences():
    config = parse_config(agents_toml(3) + '[kiosk]\naudience = "floor"\n'
                          'mask_names = "initials"\n')
    names = {a: info.name for a, info in config.agents.items()}
    assert names == {"a001": "Amara Okafor", "a002": display_name(1), "a003": display_name(2)}
    assert who("a001", "d001", config.kiosk, names) == "AO"
    assert who("a001", "d001", KioskConfig(audience="supervisor"), names) == "Amara Okafor"
