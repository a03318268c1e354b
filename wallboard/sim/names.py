"""Display names for a simulated floor's agents, so the demo's screens show people, not ids.

Deterministic: agent ``a017`` has the same name in every run, on every screen. Pure.
"""

from __future__ import annotations

from wallboard.sim.floor import agent_id

FIRST = (
    "Amara", "Ben", "Chloe", "Dev", "Elena", "Femi", "Grace", "Hiro", "Ines", "Jonas",
    "Kavya", "Liam", "Maya", "Nikos", "Olga", "Pedro", "Qing", "Rosa", "Sami", "Tara",
    "Uma", "Victor", "Wen", "Ximena", "Yusuf", "Zoe", "Aidan", "Bea", "Carlos", "Dana",
    "Emeka", "Fatima", "Gus", "Hana", "Ivan", "Jade", "Kofi", "Lena", "Marco", "Nadia",
)
# 41 names, a prime: with the stride below every first and last pair is new until 1,640.
LAST = (
    "Okafor", "Smith", "Nguyen", "Patel", "Kowalski", "Garcia", "Murphy", "Tanaka", "Silva",
    "Jensen", "Haddad", "Brown", "Rossi", "Ivanova", "Mensah", "Dubois", "Chen", "Lopez",
    "O'Brien", "Novak", "Sato", "Fischer", "Ali", "Costa", "Andersen", "Walsh", "Kim",
    "Moreau", "Osei", "Schmidt", "Reyes", "Kaur", "Horvat", "Yilmaz", "Petrov", "Evans",
    "Santos", "Berg", "Nakamura", "Adeyemi", "Clarke",
)
_STRIDE = 7  # 7 * len(FIRST) + 1 = 281 shares no factor with 41


def display_name(index: int) -> str:
    """The display name of the agent at 0-based ``index``."""
    first = FIRST[index % len(FIRST)]
    last = LAST[(_STRIDE * index + index // len(FIRST)) % len(LAST)]
    lap = index // (len(FIRST) * len(LAST))
    return f"{first} {last}" + (f" {lap + 1}" if lap else "")


def display_names(agents: int) -> dict[str, str]:
    """Every simulated agent's display name, by agent id."""
    return {agent_id(i, agents): display_name(i) for i in range(agents)}


def agents_toml(agents: int) -> str:
    """The ``[agents.<id>]`` tables of a config that names a simulated floor's agents."""
    return "".join(f'[agents.{agent}]\nname = "{name}"\n'
                   for agent, name in display_names(agents).items())
