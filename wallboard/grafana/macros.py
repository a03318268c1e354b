"""Grafana's InfluxQL macros and template variables, replaced as Grafana replaces them.

Pure: it lets the tests (or an analyst) run a dashboard's query against InfluxDB directly,
with a fixed time range in place of the dashboard's. Only what the Wallboard dashboards use
is supported, and anything else fails loudly rather than reaching InfluxDB half-replaced:

- ``$timeFilter``: ``time >= <from>ms and time <= <to>ms``, as Grafana writes it;
- ``$__interval``: the interval given; ``$__from`` / ``$__to`` (or ``${__from}``): epoch
  milliseconds;
- ``$name`` / ``${name}``: a variable's value. A tuple of values is a multi-value selection
  and becomes ``(a|b)``, each value regex-escaped, as Grafana writes one inside ``/.../``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

VariableValue = str | tuple[str, ...]

_REFERENCE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
# What Grafana's InfluxDB datasource escapes in a value interpolated into a regex.
_REGEX_SPECIAL = re.compile(r"[\\^$*+?.()|{}\[\]/]")


class UnknownVariable(KeyError):
    """A query refers to a variable or macro that was not given."""


def regex_value(values: tuple[str, ...]) -> str:
    """Several values selected at once, as Grafana puts them in an InfluxQL regex."""
    escaped = [_REGEX_SPECIAL.sub(lambda m: "\\" + m.group(0), v) for v in values]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def render(query: str, *, start: float, end: float, interval: str,
           variables: Mapping[str, VariableValue]) -> str:
    """``query`` as Grafana would send it for the range ``start``..``end`` (epoch seconds)."""
    from_ms, to_ms = round(start * 1000), round(end * 1000)
    builtins = {
        "timeFilter": f"time >= {from_ms}ms and time <= {to_ms}ms",
        "__interval": interval,
        "__from": str(from_ms),
        "__to": str(to_ms),
    }

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name in builtins:
            return builtins[name]
        if name not in variables:
            raise UnknownVariable(f"${name} is not a known macro and was not given a value")
        value = variables[name]
        return value if isinstance(value, str) else regex_value(value)

    return _REFERENCE.sub(replace, query)
