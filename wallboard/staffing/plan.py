"""A staffing request, checked once at the boundary, and the plan Erlang C makes for it.

Pure, like ``erlang_c``: the CLI parses options into a ``StaffingRequest`` and prints
``plan_staffing(request).as_json()``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from wallboard.staffing.erlang_c import (
    DEFAULT_MAX_OCCUPANCY,
    MAX_AGENTS,
    MAX_TRAFFIC_ERLANGS,
    Forecast,
    agents_required,
    agents_scheduled,
    forecast,
    traffic_erlangs,
)


class StaffingRequest(BaseModel):
    """The inputs of a staffing plan; descriptions double as the CLI's help."""

    # Not strict: the CLI passes option text ("0.8") and lets the model parse it, so a bad
    # value gets the same one-line message as an out-of-range one.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    calls: float = Field(gt=0, description="calls offered in the period (a forecast; may "
                                           "be fractional)")
    period_s: float = Field(gt=0, description="length of the period in seconds, e.g. 1800 "
                                              "for half an hour")
    aht_s: float = Field(gt=0, description="average handle time in seconds: talk, hold and "
                                           "after-call work")
    sl_target: float = Field(0.8, gt=0, lt=1, description="share of calls to answer within "
                                                          "the threshold, above 0 and below 1")
    sl_threshold_s: float = Field(20.0, gt=0, description="service-level threshold in seconds")
    shrinkage: float = Field(0.0, ge=0, lt=1, description="share of paid time agents are not "
                                                          "available (breaks, training), 0 to "
                                                          "below 1")
    max_occupancy: float = Field(DEFAULT_MAX_OCCUPANCY, gt=0, le=1,
                                 description="highest share of time agents may spend on calls")
    agents: int | None = Field(None, ge=1, le=MAX_AGENTS,
                               description="show the forecast for this many agents instead of "
                                           "the required number")

    @field_validator("aht_s")
    @classmethod
    def _traffic_in_range(cls, aht_s: float, info: ValidationInfo) -> float:
        traffic = _traffic(info.data, aht_s)
        # The search walks up one agent at a time; beyond this it would take minutes.
        if traffic is not None and not traffic <= MAX_TRAFFIC_ERLANGS:
            raise ValueError(f"that is {traffic:g} erlangs of traffic (calls / period * AHT);"
                             f" at most {MAX_TRAFFIC_ERLANGS:g} are supported")
        return aht_s

    @field_validator("max_occupancy")
    @classmethod
    def _cap_reachable(cls, max_occupancy: float, info: ValidationInfo) -> float:
        traffic = _traffic(info.data, info.data.get("aht_s"))
        if traffic is not None and traffic / max_occupancy > MAX_AGENTS:
            raise ValueError(f"so low a cap needs over {MAX_AGENTS} agents at "
                             f"{traffic:g} erlangs")
        return max_occupancy


def _traffic(data: dict[str, object], aht_s: object) -> float | None:
    """A from the fields validated so far, or None if one of them failed."""
    calls, period_s = data.get("calls"), data.get("period_s")
    if isinstance(calls, float) and isinstance(period_s, float) and isinstance(aht_s, float):
        return traffic_erlangs(calls, period_s, aht_s)
    return None


@dataclass(frozen=True, slots=True)
class StaffingPlan:
    """Agents required and to schedule, and the forecast for the agents shown."""

    request: StaffingRequest
    agents_required: int
    agents_scheduled: int
    forecast: Forecast  # for request.agents when given, else for agents_required

    def as_json(self) -> dict[str, object]:
        """The plan as one flat JSON object, with the inputs echoed under ``inputs``."""
        return {"agents_required": self.agents_required,
                "agents_scheduled": self.agents_scheduled,
                **asdict(self.forecast),
                "inputs": self.request.model_dump()}


def plan_staffing(request: StaffingRequest) -> StaffingPlan:
    """Erlang C's plan for ``request``."""
    traffic = traffic_erlangs(request.calls, request.period_s, request.aht_s)
    required = agents_required(traffic, request.aht_s, request.sl_target,
                               request.sl_threshold_s, request.max_occupancy)
    shown = request.agents if request.agents is not None else required
    return StaffingPlan(
        request=request,
        agents_required=required,
        agents_scheduled=agents_scheduled(required, request.shrinkage),
        forecast=forecast(shown, traffic, request.aht_s, request.sl_threshold_s),
    )
