"""The offline preview behind `make demo`: a simulated floor folded and printed."""

from __future__ import annotations

import re

from wallboard.sim.event_mix import MixSettings
from wallboard.sim.preview import preview

START = 1_795_420_800.0


def test_preview_prints_every_queue_with_real_numbers():
    lines: list[str] = []
    model = preview(START, hours=1.0, every_min=30.0, agents=40, out=lines.append)
    floor_lines = [line for line in lines if "floor:" in line]
    assert [line[:9] for line in floor_lines] == ["Mon 08:30", "Mon 09:00"]
    queues = MixSettings().queues
    for q in queues:
        rows = [line for line in lines if line.strip().startswith(q)]
        assert len(rows) == 2
        assert re.search(r"SL +\d+%", rows[-1]), rows[-1]
    _, floor = model.snapshots(START + 3600)
    assert floor.today.answered > 0
    assert floor.agents_logged_in == 40
