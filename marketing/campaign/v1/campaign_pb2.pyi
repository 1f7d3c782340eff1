import datetime

from buf.validate import validate_pb2 as _validate_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.type import money_pb2 as _money_pb2
from google.type import timeofday_pb2 as _timeofday_pb2
from marketing.common.v1 import channel_pb2 as _channel_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Campaign(_message.Message):
    __slots__ = ("name", "display_name", "description", "state", "channels", "schedule", "budget", "target_segments", "contents", "labels", "create_time", "update_time", "state_time", "etag", "ab_test", "ab_test_decision")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[Campaign.State]
        STATE_DRAFT: _ClassVar[Campaign.State]
        STATE_SCHEDULED: _ClassVar[Campaign.State]
        STATE_RUNNING: _ClassVar[Campaign.State]
        STATE_PAUSED: _ClassVar[Campaign.State]
        STATE_COMPLETED: _ClassVar[Campaign.State]
        STATE_CANCELLED: _ClassVar[Campaign.State]
        STATE_FAILED: _ClassVar[Campaign.State]
    STATE_UNSPECIFIED: Campaign.State
    STATE_DRAFT: Campaign.State
    STATE_SCHEDULED: Campaign.State
    STATE_RUNNING: Campaign.State
    STATE_PAUSED: Campaign.State
    STATE_COMPLETED: Campaign.State
    STATE_CANCELLED: Campaign.State
    STATE_FAILED: Campaign.State
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    TARGET_SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    CONTENTS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    STATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    AB_TEST_FIELD_NUMBER: _ClassVar[int]
    AB_TEST_DECISION_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    description: str
    state: Campaign.State
    channels: _containers.RepeatedScalarFieldContainer[_channel_pb2.Channel]
    schedule: Schedule
    budget: Budget
    target_segments: _containers.RepeatedScalarFieldContainer[str]
    contents: _containers.RepeatedCompositeFieldContainer[ContentRef]
    labels: _containers.ScalarMap[str, str]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    state_time: _timestamp_pb2.Timestamp
    etag: str
    ab_test: AbTest
    ab_test_decision: AbTestDecision
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., description: _Optional[str] = ..., state: _Optional[_Union[Campaign.State, str]] = ..., channels: _Optional[_Iterable[_Union[_channel_pb2.Channel, str]]] = ..., schedule: _Optional[_Union[Schedule, _Mapping]] = ..., budget: _Optional[_Union[Budget, _Mapping]] = ..., target_segments: _Optional[_Iterable[str]] = ..., contents: _Optional[_Iterable[_Union[ContentRef, _Mapping]]] = ..., labels: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., ab_test: _Optional[_Union[AbTest, _Mapping]] = ..., ab_test_decision: _Optional[_Union[AbTestDecision, _Mapping]] = ...) -> None: ...

class AbTest(_message.Message):
    __slots__ = ("test_share_percent", "wait", "goal_metric", "decide_when_significant")
    class GoalMetric(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        GOAL_METRIC_UNSPECIFIED: _ClassVar[AbTest.GoalMetric]
        GOAL_METRIC_CLICKS: _ClassVar[AbTest.GoalMetric]
        GOAL_METRIC_CONVERSIONS: _ClassVar[AbTest.GoalMetric]
        GOAL_METRIC_OPENS: _ClassVar[AbTest.GoalMetric]
    GOAL_METRIC_UNSPECIFIED: AbTest.GoalMetric
    GOAL_METRIC_CLICKS: AbTest.GoalMetric
    GOAL_METRIC_CONVERSIONS: AbTest.GoalMetric
    GOAL_METRIC_OPENS: AbTest.GoalMetric
    TEST_SHARE_PERCENT_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    GOAL_METRIC_FIELD_NUMBER: _ClassVar[int]
    DECIDE_WHEN_SIGNIFICANT_FIELD_NUMBER: _ClassVar[int]
    test_share_percent: float
    wait: _duration_pb2.Duration
    goal_metric: AbTest.GoalMetric
    decide_when_significant: bool
    def __init__(self, test_share_percent: _Optional[float] = ..., wait: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., goal_metric: _Optional[_Union[AbTest.GoalMetric, str]] = ..., decide_when_significant: _Optional[bool] = ...) -> None: ...

class AbTestDecision(_message.Message):
    __slots__ = ("winner", "decide_time", "reason", "p_value", "variants", "control")
    class Reason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        REASON_UNSPECIFIED: _ClassVar[AbTestDecision.Reason]
        REASON_SIGNIFICANT: _ClassVar[AbTestDecision.Reason]
        REASON_WAIT_ELAPSED: _ClassVar[AbTestDecision.Reason]
        REASON_NO_DATA: _ClassVar[AbTestDecision.Reason]
    REASON_UNSPECIFIED: AbTestDecision.Reason
    REASON_SIGNIFICANT: AbTestDecision.Reason
    REASON_WAIT_ELAPSED: AbTestDecision.Reason
    REASON_NO_DATA: AbTestDecision.Reason
    class VariantFigures(_message.Message):
        __slots__ = ("variant", "sent", "delivered", "goal_count", "rate")
        VARIANT_FIELD_NUMBER: _ClassVar[int]
        SENT_FIELD_NUMBER: _ClassVar[int]
        DELIVERED_FIELD_NUMBER: _ClassVar[int]
        GOAL_COUNT_FIELD_NUMBER: _ClassVar[int]
        RATE_FIELD_NUMBER: _ClassVar[int]
        variant: str
        sent: int
        delivered: int
        goal_count: int
        rate: float
        def __init__(self, variant: _Optional[str] = ..., sent: _Optional[int] = ..., delivered: _Optional[int] = ..., goal_count: _Optional[int] = ..., rate: _Optional[float] = ...) -> None: ...
    WINNER_FIELD_NUMBER: _ClassVar[int]
    DECIDE_TIME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    P_VALUE_FIELD_NUMBER: _ClassVar[int]
    VARIANTS_FIELD_NUMBER: _ClassVar[int]
    CONTROL_FIELD_NUMBER: _ClassVar[int]
    winner: str
    decide_time: _timestamp_pb2.Timestamp
    reason: AbTestDecision.Reason
    p_value: float
    variants: _containers.RepeatedCompositeFieldContainer[AbTestDecision.VariantFigures]
    control: str
    def __init__(self, winner: _Optional[str] = ..., decide_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[_Union[AbTestDecision.Reason, str]] = ..., p_value: _Optional[float] = ..., variants: _Optional[_Iterable[_Union[AbTestDecision.VariantFigures, _Mapping]]] = ..., control: _Optional[str] = ...) -> None: ...

class Schedule(_message.Message):
    __slots__ = ("start_time", "end_time", "time_zone", "recurrence", "send_local_time", "max_sends_per_hour")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    RECURRENCE_FIELD_NUMBER: _ClassVar[int]
    SEND_LOCAL_TIME_FIELD_NUMBER: _ClassVar[int]
    MAX_SENDS_PER_HOUR_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    time_zone: str
    recurrence: str
    send_local_time: _timeofday_pb2.TimeOfDay
    max_sends_per_hour: int
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., time_zone: _Optional[str] = ..., recurrence: _Optional[str] = ..., send_local_time: _Optional[_Union[_timeofday_pb2.TimeOfDay, _Mapping]] = ..., max_sends_per_hour: _Optional[int] = ...) -> None: ...

class Budget(_message.Message):
    __slots__ = ("total", "allocations", "pacing")
    class Pacing(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        PACING_UNSPECIFIED: _ClassVar[Budget.Pacing]
        PACING_EVEN: _ClassVar[Budget.Pacing]
        PACING_FRONT_LOADED: _ClassVar[Budget.Pacing]
    PACING_UNSPECIFIED: Budget.Pacing
    PACING_EVEN: Budget.Pacing
    PACING_FRONT_LOADED: Budget.Pacing
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    ALLOCATIONS_FIELD_NUMBER: _ClassVar[int]
    PACING_FIELD_NUMBER: _ClassVar[int]
    total: _money_pb2.Money
    allocations: _containers.RepeatedCompositeFieldContainer[ChannelAllocation]
    pacing: Budget.Pacing
    def __init__(self, total: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., allocations: _Optional[_Iterable[_Union[ChannelAllocation, _Mapping]]] = ..., pacing: _Optional[_Union[Budget.Pacing, str]] = ...) -> None: ...

class ChannelAllocation(_message.Message):
    __slots__ = ("channel", "amount")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    channel: _channel_pb2.Channel
    amount: _money_pb2.Money
    def __init__(self, channel: _Optional[_Union[_channel_pb2.Channel, str]] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class ContentRef(_message.Message):
    __slots__ = ("channel", "template")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    channel: _channel_pb2.Channel
    template: str
    def __init__(self, channel: _Optional[_Union[_channel_pb2.Channel, str]] = ..., template: _Optional[str] = ...) -> None: ...

class CampaignEvent(_message.Message):
    __slots__ = ("name", "event_id", "type", "version", "occur_time", "producer", "changed_paths", "campaign")
    NAME_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    OCCUR_TIME_FIELD_NUMBER: _ClassVar[int]
    PRODUCER_FIELD_NUMBER: _ClassVar[int]
    CHANGED_PATHS_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    name: str
    event_id: str
    type: str
    version: int
    occur_time: _timestamp_pb2.Timestamp
    producer: str
    changed_paths: _containers.RepeatedScalarFieldContainer[str]
    campaign: Campaign
    def __init__(self, name: _Optional[str] = ..., event_id: _Optional[str] = ..., type: _Optional[str] = ..., version: _Optional[int] = ..., occur_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., producer: _Optional[str] = ..., changed_paths: _Optional[_Iterable[str]] = ..., campaign: _Optional[_Union[Campaign, _Mapping]] = ...) -> None: ...
