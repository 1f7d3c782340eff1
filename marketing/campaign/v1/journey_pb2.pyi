import datetime

from buf.validate import validate_pb2 as _validate_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from marketing.common.v1 import channel_pb2 as _channel_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Journey(_message.Message):
    __slots__ = ("name", "display_name", "state", "definition", "published_version", "create_time", "update_time", "etag")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[Journey.State]
        STATE_DRAFT: _ClassVar[Journey.State]
        STATE_ACTIVE: _ClassVar[Journey.State]
        STATE_PAUSED: _ClassVar[Journey.State]
        STATE_ARCHIVED: _ClassVar[Journey.State]
    STATE_UNSPECIFIED: Journey.State
    STATE_DRAFT: Journey.State
    STATE_ACTIVE: Journey.State
    STATE_PAUSED: Journey.State
    STATE_ARCHIVED: Journey.State
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    state: Journey.State
    definition: JourneyDefinition
    published_version: int
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., state: _Optional[_Union[Journey.State, str]] = ..., definition: _Optional[_Union[JourneyDefinition, _Mapping]] = ..., published_version: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class JourneyDefinition(_message.Message):
    __slots__ = ("trigger", "steps", "entry_step", "goal_event", "reentry")
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    ENTRY_STEP_FIELD_NUMBER: _ClassVar[int]
    GOAL_EVENT_FIELD_NUMBER: _ClassVar[int]
    REENTRY_FIELD_NUMBER: _ClassVar[int]
    trigger: JourneyTrigger
    steps: _containers.RepeatedCompositeFieldContainer[JourneyStep]
    entry_step: str
    goal_event: str
    reentry: ReentryRule
    def __init__(self, trigger: _Optional[_Union[JourneyTrigger, _Mapping]] = ..., steps: _Optional[_Iterable[_Union[JourneyStep, _Mapping]]] = ..., entry_step: _Optional[str] = ..., goal_event: _Optional[str] = ..., reentry: _Optional[_Union[ReentryRule, _Mapping]] = ...) -> None: ...

class ReentryRule(_message.Message):
    __slots__ = ("mode", "period")
    class Mode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        MODE_UNSPECIFIED: _ClassVar[ReentryRule.Mode]
        MODE_ONCE: _ClassVar[ReentryRule.Mode]
        MODE_ONCE_PER_PERIOD: _ClassVar[ReentryRule.Mode]
        MODE_ALWAYS: _ClassVar[ReentryRule.Mode]
    MODE_UNSPECIFIED: ReentryRule.Mode
    MODE_ONCE: ReentryRule.Mode
    MODE_ONCE_PER_PERIOD: ReentryRule.Mode
    MODE_ALWAYS: ReentryRule.Mode
    MODE_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    mode: ReentryRule.Mode
    period: _duration_pb2.Duration
    def __init__(self, mode: _Optional[_Union[ReentryRule.Mode, str]] = ..., period: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class JourneyTrigger(_message.Message):
    __slots__ = ("event", "segment_entered", "segment_left", "date_attribute")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_ENTERED_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_LEFT_FIELD_NUMBER: _ClassVar[int]
    DATE_ATTRIBUTE_FIELD_NUMBER: _ClassVar[int]
    event: EventTrigger
    segment_entered: SegmentTrigger
    segment_left: SegmentTrigger
    date_attribute: DateAttributeTrigger
    def __init__(self, event: _Optional[_Union[EventTrigger, _Mapping]] = ..., segment_entered: _Optional[_Union[SegmentTrigger, _Mapping]] = ..., segment_left: _Optional[_Union[SegmentTrigger, _Mapping]] = ..., date_attribute: _Optional[_Union[DateAttributeTrigger, _Mapping]] = ...) -> None: ...

class EventTrigger(_message.Message):
    __slots__ = ("event", "conditions")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    event: str
    conditions: _containers.RepeatedCompositeFieldContainer[PropertyCondition]
    def __init__(self, event: _Optional[str] = ..., conditions: _Optional[_Iterable[_Union[PropertyCondition, _Mapping]]] = ...) -> None: ...

class PropertyCondition(_message.Message):
    __slots__ = ("property", "operator", "value")
    class Operator(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        OPERATOR_UNSPECIFIED: _ClassVar[PropertyCondition.Operator]
        OPERATOR_EQUALS: _ClassVar[PropertyCondition.Operator]
        OPERATOR_NOT_EQUALS: _ClassVar[PropertyCondition.Operator]
        OPERATOR_EXISTS: _ClassVar[PropertyCondition.Operator]
        OPERATOR_GREATER_THAN: _ClassVar[PropertyCondition.Operator]
        OPERATOR_LESS_THAN: _ClassVar[PropertyCondition.Operator]
    OPERATOR_UNSPECIFIED: PropertyCondition.Operator
    OPERATOR_EQUALS: PropertyCondition.Operator
    OPERATOR_NOT_EQUALS: PropertyCondition.Operator
    OPERATOR_EXISTS: PropertyCondition.Operator
    OPERATOR_GREATER_THAN: PropertyCondition.Operator
    OPERATOR_LESS_THAN: PropertyCondition.Operator
    PROPERTY_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    property: str
    operator: PropertyCondition.Operator
    value: str
    def __init__(self, property: _Optional[str] = ..., operator: _Optional[_Union[PropertyCondition.Operator, str]] = ..., value: _Optional[str] = ...) -> None: ...

class SegmentTrigger(_message.Message):
    __slots__ = ("segment",)
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    segment: str
    def __init__(self, segment: _Optional[str] = ...) -> None: ...

class DateAttributeTrigger(_message.Message):
    __slots__ = ("attribute", "minute_of_day")
    ATTRIBUTE_FIELD_NUMBER: _ClassVar[int]
    MINUTE_OF_DAY_FIELD_NUMBER: _ClassVar[int]
    attribute: str
    minute_of_day: int
    def __init__(self, attribute: _Optional[str] = ..., minute_of_day: _Optional[int] = ...) -> None: ...

class JourneyStep(_message.Message):
    __slots__ = ("id", "wait", "branch", "send", "update_attribute", "add_to_segment", "remove_from_segment", "call_webhook", "exit", "next")
    ID_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    SEND_FIELD_NUMBER: _ClassVar[int]
    UPDATE_ATTRIBUTE_FIELD_NUMBER: _ClassVar[int]
    ADD_TO_SEGMENT_FIELD_NUMBER: _ClassVar[int]
    REMOVE_FROM_SEGMENT_FIELD_NUMBER: _ClassVar[int]
    CALL_WEBHOOK_FIELD_NUMBER: _ClassVar[int]
    EXIT_FIELD_NUMBER: _ClassVar[int]
    NEXT_FIELD_NUMBER: _ClassVar[int]
    id: str
    wait: WaitStep
    branch: BranchStep
    send: SendStep
    update_attribute: UpdateAttributeStep
    add_to_segment: SegmentMembershipStep
    remove_from_segment: SegmentMembershipStep
    call_webhook: CallWebhookStep
    exit: ExitStep
    next: str
    def __init__(self, id: _Optional[str] = ..., wait: _Optional[_Union[WaitStep, _Mapping]] = ..., branch: _Optional[_Union[BranchStep, _Mapping]] = ..., send: _Optional[_Union[SendStep, _Mapping]] = ..., update_attribute: _Optional[_Union[UpdateAttributeStep, _Mapping]] = ..., add_to_segment: _Optional[_Union[SegmentMembershipStep, _Mapping]] = ..., remove_from_segment: _Optional[_Union[SegmentMembershipStep, _Mapping]] = ..., call_webhook: _Optional[_Union[CallWebhookStep, _Mapping]] = ..., exit: _Optional[_Union[ExitStep, _Mapping]] = ..., next: _Optional[str] = ...) -> None: ...

class WaitStep(_message.Message):
    __slots__ = ("duration", "event", "on_event", "on_timeout", "until_time_of_day")
    DURATION_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    ON_EVENT_FIELD_NUMBER: _ClassVar[int]
    ON_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    UNTIL_TIME_OF_DAY_FIELD_NUMBER: _ClassVar[int]
    duration: _duration_pb2.Duration
    event: str
    on_event: str
    on_timeout: str
    until_time_of_day: str
    def __init__(self, duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., event: _Optional[str] = ..., on_event: _Optional[str] = ..., on_timeout: _Optional[str] = ..., until_time_of_day: _Optional[str] = ...) -> None: ...

class BranchStep(_message.Message):
    __slots__ = ("event_seen", "on_true", "on_false", "in_segment", "attribute")
    EVENT_SEEN_FIELD_NUMBER: _ClassVar[int]
    ON_TRUE_FIELD_NUMBER: _ClassVar[int]
    ON_FALSE_FIELD_NUMBER: _ClassVar[int]
    IN_SEGMENT_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTE_FIELD_NUMBER: _ClassVar[int]
    event_seen: str
    on_true: str
    on_false: str
    in_segment: str
    attribute: PropertyCondition
    def __init__(self, event_seen: _Optional[str] = ..., on_true: _Optional[str] = ..., on_false: _Optional[str] = ..., in_segment: _Optional[str] = ..., attribute: _Optional[_Union[PropertyCondition, _Mapping]] = ...) -> None: ...

class SendStep(_message.Message):
    __slots__ = ("channel", "template")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    channel: _channel_pb2.Channel
    template: str
    def __init__(self, channel: _Optional[_Union[_channel_pb2.Channel, str]] = ..., template: _Optional[str] = ...) -> None: ...

class UpdateAttributeStep(_message.Message):
    __slots__ = ("attribute", "value")
    ATTRIBUTE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    attribute: str
    value: str
    def __init__(self, attribute: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class SegmentMembershipStep(_message.Message):
    __slots__ = ("segment",)
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    segment: str
    def __init__(self, segment: _Optional[str] = ...) -> None: ...

class CallWebhookStep(_message.Message):
    __slots__ = ("webhook",)
    WEBHOOK_FIELD_NUMBER: _ClassVar[int]
    webhook: str
    def __init__(self, webhook: _Optional[str] = ...) -> None: ...

class ExitStep(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class JourneyStats(_message.Message):
    __slots__ = ("name", "entered", "refused", "active", "goal_reached", "exited", "steps")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENTERED_FIELD_NUMBER: _ClassVar[int]
    REFUSED_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    GOAL_REACHED_FIELD_NUMBER: _ClassVar[int]
    EXITED_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    name: str
    entered: int
    refused: int
    active: int
    goal_reached: int
    exited: int
    steps: _containers.RepeatedCompositeFieldContainer[JourneyStepStats]
    def __init__(self, name: _Optional[str] = ..., entered: _Optional[int] = ..., refused: _Optional[int] = ..., active: _Optional[int] = ..., goal_reached: _Optional[int] = ..., exited: _Optional[int] = ..., steps: _Optional[_Iterable[_Union[JourneyStepStats, _Mapping]]] = ...) -> None: ...

class JourneyStepStats(_message.Message):
    __slots__ = ("step", "entered", "waiting", "left_by_branch", "sent", "skipped")
    class LeftByBranchEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    STEP_FIELD_NUMBER: _ClassVar[int]
    ENTERED_FIELD_NUMBER: _ClassVar[int]
    WAITING_FIELD_NUMBER: _ClassVar[int]
    LEFT_BY_BRANCH_FIELD_NUMBER: _ClassVar[int]
    SENT_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    step: str
    entered: int
    waiting: int
    left_by_branch: _containers.ScalarMap[str, int]
    sent: int
    skipped: int
    def __init__(self, step: _Optional[str] = ..., entered: _Optional[int] = ..., waiting: _Optional[int] = ..., left_by_branch: _Optional[_Mapping[str, int]] = ..., sent: _Optional[int] = ..., skipped: _Optional[int] = ...) -> None: ...

class JourneyProfileExplanation(_message.Message):
    __slots__ = ("profile", "entries")
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    profile: str
    entries: _containers.RepeatedCompositeFieldContainer[JourneyProfileEntry]
    def __init__(self, profile: _Optional[str] = ..., entries: _Optional[_Iterable[_Union[JourneyProfileEntry, _Mapping]]] = ...) -> None: ...

class JourneyProfileEntry(_message.Message):
    __slots__ = ("journey", "version", "refused", "refusal_reason", "state", "current_step", "enter_time", "path")
    JOURNEY_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    REFUSED_FIELD_NUMBER: _ClassVar[int]
    REFUSAL_REASON_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CURRENT_STEP_FIELD_NUMBER: _ClassVar[int]
    ENTER_TIME_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    journey: str
    version: int
    refused: bool
    refusal_reason: str
    state: str
    current_step: str
    enter_time: _timestamp_pb2.Timestamp
    path: _containers.RepeatedCompositeFieldContainer[JourneyTrailItem]
    def __init__(self, journey: _Optional[str] = ..., version: _Optional[int] = ..., refused: _Optional[bool] = ..., refusal_reason: _Optional[str] = ..., state: _Optional[str] = ..., current_step: _Optional[str] = ..., enter_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., path: _Optional[_Iterable[_Union[JourneyTrailItem, _Mapping]]] = ...) -> None: ...

class JourneyTrailItem(_message.Message):
    __slots__ = ("time", "kind", "step", "detail")
    TIME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    kind: str
    step: str
    detail: str
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., kind: _Optional[str] = ..., step: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...
