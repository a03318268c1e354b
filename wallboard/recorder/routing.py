"""Which retention policy each line of a batch is written to.

Pure. Most batches hold no point of a measurement with a policy of its own, and one scan
of the batch says so; only a batch that holds one is split line by line.
"""

from __future__ import annotations

from collections.abc import Mapping

from wallboard.recorder.downsampling import POLICY_OF_MEASUREMENT, RAW


def by_policy(lines: bytes, policy_of: Mapping[str, str] = POLICY_OF_MEASUREMENT,
              default: str = RAW) -> list[tuple[str, bytes]]:
    """The batch's lines grouped by policy, keeping their order; the default's group first."""
    names = {name.encode(): policy for name, policy in policy_of.items()}
    if not any(name in lines for name in names):
        return [(default, lines)] if lines else []
    groups: dict[str, list[bytes]] = {default: []}
    for line in lines.split(b"\n"):
        # A measurement name ends at the first unescaped comma or space; ours have neither.
        head = line.split(b" ", 1)[0].split(b",", 1)[0]
        groups.setdefault(names.get(head, default), []).append(line)
    return [(policy, b"\n".join(group)) for policy, group in groups.items() if group]
