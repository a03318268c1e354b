"""One formatter for pydantic validation errors: the first error as a field and a one-line reason.

Configs, MQTT payloads, command-line options and the desk's saved state all report a bad value
the same way, naming where it is and why; each caller only picks how the field is named and
which error types get a plainer reason than pydantic's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

# A reason for one error type: fixed text, or a function of the error (its field and input).
Reason = str | Callable[[ErrorDetails], str]


class FieldProblem(ValueError):
    """Raised inside a cross-field validator, so the error can still name the field."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field


def field_and_reason(exc: ValidationError, *, whole: str,
                     options: Mapping[str, str] | None = None,
                     reasons: Mapping[str, Reason] | None = None,
                     show_input: Callable[[Any], str] | None = None,
                     count_more: bool = False) -> tuple[str, str]:
    """The first error as (field, reason).

    The field is the dotted path, or ``whole`` when the error is about the whole input. With
    ``options`` it is the command-line option for the path's first part: ``options[part]``,
    else ``--part-name``. ``reasons`` replaces pydantic's text for the error types it names.
    ``show_input`` adds the bad value as it renders it; ``count_more`` adds how many other
    errors there were.
    """
    errors = exc.errors(include_url=False)
    first = errors[0]
    path = [str(part) for part in first["loc"]]
    ctx = first.get("ctx") or {}
    problem = ctx.get("error")
    kind = first["type"]
    if isinstance(problem, FieldProblem):
        path, reason = [problem.field], str(problem)
    elif reasons is not None and kind in reasons:
        given = reasons[kind]
        reason = given if isinstance(given, str) else given(first)
    elif kind == "json_invalid":
        reason = f"malformed JSON: {ctx.get('error', first['msg'])}"
    else:
        reason = first["msg"].removeprefix("Value error, ")
        if show_input is not None:
            reason += f" (got {show_input(first['input'])})"
    if count_more and len(errors) > 1:
        reason += f" (+{len(errors) - 1} more)"
    if options is None:
        field = ".".join(path) or whole
    elif path:
        field = options.get(path[0], "--" + path[0].replace("_", "-"))
    else:
        field = whole
    return field, reason


def short(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, for showing a bad input."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."
