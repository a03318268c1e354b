"""The ``[wellbeing]`` section of ``wallboard.toml``: the site's strain policy.

Every default, and why, is in ``docs/wellbeing.md``. A rule left out keeps its default; a
team aggregate is never published for fewer than 3 agents, whatever the file says.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from wallboard.config_base import Section
from wallboard.floor.strain import COMPONENTS, Rule, StrainPolicy, default_rules

PRIVACY_FLOOR = 3  # below this a team "aggregate" points at one or two people


class RuleConfig(Section):
    """One component: ``per`` points a unit of the fact above ``free``, at most ``cap``."""

    free: float = Field(ge=0, description="Units of the fact that score nothing")
    per: float = Field(ge=0, le=100, description="Points for each unit above free")
    cap: float = Field(ge=0, le=100, description="Most points this component gives")


def _default_rule_configs() -> dict[str, RuleConfig]:
    return {name: RuleConfig(free=r.free, per=r.per, cap=r.cap)
            for name, r in default_rules().items()}


class WellbeingConfig(Section):
    """Strain indicators: the rules, the suggestions and the privacy minimum."""

    min_group: int = Field(
        5, ge=PRIVACY_FLOOR, le=1000,
        description="Team aggregates are published only with at least this many agents "
                    "logged in (3 or more)")
    check_in_score: float = Field(50.0, gt=0, le=100,
                                  description="A supervisor check-in is suggested from this score")
    recovery_break_min: float = Field(
        5.0, gt=0, le=60, description="The recovery break suggested after an abusive caller")
    recovery_window_min: float = Field(
        15.0, gt=0, le=240,
        description="...if the call was at most this long ago and no break came since")
    break_due_min: float = Field(120.0, gt=0, le=600,
                                 description="A break is due after this long without one")
    break_due_calls: int = Field(30, ge=1, le=500,
                                 description="...or after this many calls without one")
    long_hold_s: float = Field(60.0, gt=0, le=3600, description="A hold this long is long")
    rules: dict[str, RuleConfig] = Field(
        default_factory=_default_rule_configs,
        description="Per component; names as in docs/wellbeing.md")

    @field_validator("rules")
    @classmethod
    def _known_rules(cls, rules: dict[str, RuleConfig]) -> dict[str, RuleConfig]:
        unknown = sorted(set(rules) - set(COMPONENTS))
        if unknown:
            raise ValueError(f"unknown component {unknown[0]!r}; known: {', '.join(COMPONENTS)}")
        return rules

    def policy(self) -> StrainPolicy:
        """The pure model's policy: the defaults with this file's rules over them."""
        rules = default_rules()
        for name, rule in self.rules.items():
            rules[name] = Rule(rule.free, rule.per, rule.cap)
        return StrainPolicy(
            rules=rules, check_in_score=self.check_in_score,
            recovery_break_min=self.recovery_break_min,
            recovery_window_min=self.recovery_window_min, break_due_min=self.break_due_min,
            break_due_calls=self.break_due_calls, long_hold_s=self.long_hold_s,
            min_group=self.min_group)
