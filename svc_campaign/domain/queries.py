"""Typed list filter: what `ListCampaigns.filter` means for campaigns."""

from __future__ import annotations

from dataclasses import dataclass

from svc_kit.errors import FieldViolation, InvalidArgument
from svc_kit.filtering import Term, parse_filter

from svc_campaign.domain.model import Campaign
from svc_campaign.domain.values import State


@dataclass(frozen=True)
class CampaignFilter:
    states: frozenset[State] | None = None  # None: any state
    excluded_states: frozenset[State] = frozenset()
    labels_equal: tuple[tuple[str, str], ...] = ()
    labels_not_equal: tuple[tuple[str, str], ...] = ()
    labels_present: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> CampaignFilter:
        states: frozenset[State] | None = None
        excluded: set[State] = set()
        equal, not_equal, present = [], [], []
        for term in parse_filter(text):
            if term.field == "state":
                state = _state(term)
                if term.op == "=":
                    states = (states or frozenset(State)) & {state}
                else:
                    excluded.add(state)
            elif term.field.startswith("labels.") and len(term.field) > len("labels."):
                key = term.field[len("labels."):]
                if term.op == "=":
                    equal.append((key, term.value))
                elif term.op == "!=":
                    not_equal.append((key, term.value))
                else:
                    present.append(key)
            else:
                raise InvalidArgument(FieldViolation(
                    "filter", f"cannot filter on {term.field!r}; use state or labels.<key>"))
        return cls(states, frozenset(excluded), tuple(equal), tuple(not_equal), tuple(present))

    def matches(self, campaign: Campaign) -> bool:
        labels = campaign.fields.labels
        return (
            (self.states is None or campaign.state in self.states)
            and campaign.state not in self.excluded_states
            and all(labels.get(k) == v for k, v in self.labels_equal)
            and all(labels.get(k) != v for k, v in self.labels_not_equal)
            and all(k in labels for k in self.labels_present)
        )


def _state(term: Term) -> State:
    if term.op == "has":
        raise InvalidArgument(FieldViolation("filter", "state is always present; compare it with = or !="))
    name = term.value.upper().removeprefix("STATE_")
    try:
        return State[name]
    except KeyError:
        names = ", ".join(f"STATE_{s.value}" for s in State)
        raise InvalidArgument(FieldViolation("filter", f"unknown state {term.value!r}; one of {names}")) from None
