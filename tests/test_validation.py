"""The one formatter of pydantic errors: (field, reason) for each way a caller names things."""

from __future__ import annotations

from typing import Any, Self

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from wallboard.validation import FieldProblem, field_and_reason, short


class Inner(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    level: int = Field(0, ge=0)


class Sample(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    share_group: str = Field("main", pattern="^[a-z]+$")
    spool_dir: str = "spool"
    count: int = Field(1, ge=1)
    inner: Inner = Inner()

    @model_validator(mode="after")
    def _cross(self) -> Self:
        if self.count == 7:
            raise FieldProblem("spool_dir", "must be set when count is 7")
        if self.count == 13:
            raise ValueError("count and spool_dir disagree")
        return self


def _error(data: Any) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        if isinstance(data, bytes):
            Sample.model_validate_json(data)
        else:
            Sample.model_validate(data)
    return info.value


def _pattern(error: Any) -> str:
    return f"{error['input']!r} is not lower case"


CASES = [
    # (id, data, options given to field_and_reason, expected (field, reason))
    ("dotted-path", {"inner": {"level": -1}}, {"whole": "(top level)"},
     ("inner.level", "Input should be greater than or equal to 0")),
    ("whole-input", [], {"whole": "payload"},
     ("payload", "Input should be a valid dictionary or instance of Sample")),
    ("value-error-prefix-dropped", {"count": 13}, {"whole": "(top level)"},
     ("(top level)", "count and spool_dir disagree")),
    ("field-problem-names-its-field", {"count": 7}, {"whole": "payload"},
     ("spool_dir", "must be set when count is 7")),
    ("reason-by-type", {"colour": "red"},
     {"whole": "(top level)", "reasons": {"extra_forbidden": "unknown key"}},
     ("colour", "unknown key")),
    ("reason-by-function", {"share_group": "Main"},
     {"whole": "option", "reasons": {"string_pattern_mismatch": _pattern}},
     ("share_group", "'Main' is not lower case")),
    ("malformed-json", b'{"count": 1', {"whole": "payload"},
     ("payload", "malformed JSON: EOF while parsing an object at line 1 column 11")),
    ("input-shown-as-repr", {"count": 0}, {"whole": "payload", "show_input": short},
     ("count", "Input should be greater than or equal to 1 (got 0)")),
    ("input-shown-as-text", {"share_group": "A b"}, {"whole": "option", "show_input": str},
     ("share_group", "String should match pattern '^[a-z]+$' (got A b)")),
    ("input-not-shown-for-a-named-reason", {"colour": "red"},
     {"whole": "payload", "reasons": {"extra_forbidden": "unknown field"}, "show_input": short},
     ("colour", "unknown field")),
    ("more-counted", {"count": 0, "spool_dir": 5, "colour": 1},
     {"whole": "payload", "count_more": True},
     ("spool_dir", "Input should be a valid string (+2 more)")),
    ("more-not-counted", {"count": 0, "spool_dir": 5}, {"whole": "payload"},
     ("spool_dir", "Input should be a valid string")),
    ("option-by-rule", {"spool_dir": 5}, {"whole": "option", "options": {}},
     ("--spool-dir", "Input should be a valid string")),
    ("option-by-name", {"share_group": "A"},
     {"whole": "option", "options": {"share_group": "--share"}},
     ("--share", "String should match pattern '^[a-z]+$'")),
    ("option-from-first-part", {"inner": {"level": -1}}, {"whole": "option", "options": {}},
     ("--inner", "Input should be greater than or equal to 0")),
    ("option-for-the-whole", {"count": 13}, {"whole": "option", "options": {}},
     ("option", "count and spool_dir disagree")),
    ("option-for-a-field-problem", {"count": 7}, {"whole": "option", "options": {}},
     ("--spool-dir", "must be set when count is 7")),
]


@pytest.mark.parametrize(("data", "kwargs", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_field_and_reason(data, kwargs, expected):
    assert field_and_reason(_error(data), **kwargs) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (0, "0"),
    ("x", "'x'"),
    (float("nan"), "nan"),
    ("a" * 100, "'" + "a" * 56 + "..."),
])
def test_short(value, expected):
    assert short(value) == expected
