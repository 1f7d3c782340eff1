import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from marketing.common.v1 import channel_pb2 as _channel_pb2
from marketing.common.v1 import operation_pb2 as _operation_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CampaignLaunch(_message.Message):
    __slots__ = ("name", "state", "targets", "progress", "last_error", "next_attempt_time", "pending_messages_action", "cancelled_message_count", "handed_over_message_count", "messages_held", "failed_step", "failure_reason", "compensating", "steps", "run", "occurrence_time", "ab_test_phase", "ab_test_decide_time")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[CampaignLaunch.State]
        STATE_RUNNING: _ClassVar[CampaignLaunch.State]
        STATE_PAUSED: _ClassVar[CampaignLaunch.State]
        STATE_COMPLETED: _ClassVar[CampaignLaunch.State]
        STATE_CANCELLED: _ClassVar[CampaignLaunch.State]
        STATE_FAILED: _ClassVar[CampaignLaunch.State]
    STATE_UNSPECIFIED: CampaignLaunch.State
    STATE_RUNNING: CampaignLaunch.State
    STATE_PAUSED: CampaignLaunch.State
    STATE_COMPLETED: CampaignLaunch.State
    STATE_CANCELLED: CampaignLaunch.State
    STATE_FAILED: CampaignLaunch.State
    class Step(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STEP_UNSPECIFIED: _ClassVar[CampaignLaunch.Step]
        STEP_FREEZE_SNAPSHOT: _ClassVar[CampaignLaunch.Step]
        STEP_PREFLIGHT_RENDER: _ClassVar[CampaignLaunch.Step]
        STEP_SCHEDULE_DELIVERIES: _ClassVar[CampaignLaunch.Step]
        STEP_INIT_TRACKING: _ClassVar[CampaignLaunch.Step]
        STEP_VOID_TRACKING: _ClassVar[CampaignLaunch.Step]
        STEP_CANCEL_MESSAGES: _ClassVar[CampaignLaunch.Step]
        STEP_RELEASE_SNAPSHOT: _ClassVar[CampaignLaunch.Step]
        STEP_DECIDE_AB_TEST: _ClassVar[CampaignLaunch.Step]
    STEP_UNSPECIFIED: CampaignLaunch.Step
    STEP_FREEZE_SNAPSHOT: CampaignLaunch.Step
    STEP_PREFLIGHT_RENDER: CampaignLaunch.Step
    STEP_SCHEDULE_DELIVERIES: CampaignLaunch.Step
    STEP_INIT_TRACKING: CampaignLaunch.Step
    STEP_VOID_TRACKING: CampaignLaunch.Step
    STEP_CANCEL_MESSAGES: CampaignLaunch.Step
    STEP_RELEASE_SNAPSHOT: CampaignLaunch.Step
    STEP_DECIDE_AB_TEST: CampaignLaunch.Step
    class MessagesAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        MESSAGES_ACTION_UNSPECIFIED: _ClassVar[CampaignLaunch.MessagesAction]
        MESSAGES_ACTION_HOLD: _ClassVar[CampaignLaunch.MessagesAction]
        MESSAGES_ACTION_RELEASE: _ClassVar[CampaignLaunch.MessagesAction]
        MESSAGES_ACTION_CANCEL: _ClassVar[CampaignLaunch.MessagesAction]
    MESSAGES_ACTION_UNSPECIFIED: CampaignLaunch.MessagesAction
    MESSAGES_ACTION_HOLD: CampaignLaunch.MessagesAction
    MESSAGES_ACTION_RELEASE: CampaignLaunch.MessagesAction
    MESSAGES_ACTION_CANCEL: CampaignLaunch.MessagesAction
    class AbTestPhase(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        AB_TEST_PHASE_UNSPECIFIED: _ClassVar[CampaignLaunch.AbTestPhase]
        AB_TEST_PHASE_TEST: _ClassVar[CampaignLaunch.AbTestPhase]
        AB_TEST_PHASE_WAITING: _ClassVar[CampaignLaunch.AbTestPhase]
        AB_TEST_PHASE_REMAINDER: _ClassVar[CampaignLaunch.AbTestPhase]
    AB_TEST_PHASE_UNSPECIFIED: CampaignLaunch.AbTestPhase
    AB_TEST_PHASE_TEST: CampaignLaunch.AbTestPhase
    AB_TEST_PHASE_WAITING: CampaignLaunch.AbTestPhase
    AB_TEST_PHASE_REMAINDER: CampaignLaunch.AbTestPhase
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    NEXT_ATTEMPT_TIME_FIELD_NUMBER: _ClassVar[int]
    PENDING_MESSAGES_ACTION_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_MESSAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    HANDED_OVER_MESSAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_HELD_FIELD_NUMBER: _ClassVar[int]
    FAILED_STEP_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    COMPENSATING_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    RUN_FIELD_NUMBER: _ClassVar[int]
    OCCURRENCE_TIME_FIELD_NUMBER: _ClassVar[int]
    AB_TEST_PHASE_FIELD_NUMBER: _ClassVar[int]
    AB_TEST_DECIDE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    state: CampaignLaunch.State
    targets: _containers.RepeatedCompositeFieldContainer[LaunchTarget]
    progress: _operation_pb2.Progress
    last_error: str
    next_attempt_time: _timestamp_pb2.Timestamp
    pending_messages_action: CampaignLaunch.MessagesAction
    cancelled_message_count: int
    handed_over_message_count: int
    messages_held: bool
    failed_step: CampaignLaunch.Step
    failure_reason: str
    compensating: bool
    steps: _containers.RepeatedCompositeFieldContainer[LaunchStepRecord]
    run: int
    occurrence_time: _timestamp_pb2.Timestamp
    ab_test_phase: CampaignLaunch.AbTestPhase
    ab_test_decide_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., state: _Optional[_Union[CampaignLaunch.State, str]] = ..., targets: _Optional[_Iterable[_Union[LaunchTarget, _Mapping]]] = ..., progress: _Optional[_Union[_operation_pb2.Progress, _Mapping]] = ..., last_error: _Optional[str] = ..., next_attempt_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., pending_messages_action: _Optional[_Union[CampaignLaunch.MessagesAction, str]] = ..., cancelled_message_count: _Optional[int] = ..., handed_over_message_count: _Optional[int] = ..., messages_held: _Optional[bool] = ..., failed_step: _Optional[_Union[CampaignLaunch.Step, str]] = ..., failure_reason: _Optional[str] = ..., compensating: _Optional[bool] = ..., steps: _Optional[_Iterable[_Union[LaunchStepRecord, _Mapping]]] = ..., run: _Optional[int] = ..., occurrence_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ab_test_phase: _Optional[_Union[CampaignLaunch.AbTestPhase, str]] = ..., ab_test_decide_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class LaunchStepRecord(_message.Message):
    __slots__ = ("step", "target", "outcome", "time", "detail")
    class Outcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        OUTCOME_UNSPECIFIED: _ClassVar[LaunchStepRecord.Outcome]
        OUTCOME_IN_PROGRESS: _ClassVar[LaunchStepRecord.Outcome]
        OUTCOME_DONE: _ClassVar[LaunchStepRecord.Outcome]
        OUTCOME_RETRYING: _ClassVar[LaunchStepRecord.Outcome]
        OUTCOME_FAILED: _ClassVar[LaunchStepRecord.Outcome]
        OUTCOME_NOT_POSSIBLE: _ClassVar[LaunchStepRecord.Outcome]
    OUTCOME_UNSPECIFIED: LaunchStepRecord.Outcome
    OUTCOME_IN_PROGRESS: LaunchStepRecord.Outcome
    OUTCOME_DONE: LaunchStepRecord.Outcome
    OUTCOME_RETRYING: LaunchStepRecord.Outcome
    OUTCOME_FAILED: LaunchStepRecord.Outcome
    OUTCOME_NOT_POSSIBLE: LaunchStepRecord.Outcome
    STEP_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    step: CampaignLaunch.Step
    target: int
    outcome: LaunchStepRecord.Outcome
    time: _timestamp_pb2.Timestamp
    detail: str
    def __init__(self, step: _Optional[_Union[CampaignLaunch.Step, str]] = ..., target: _Optional[int] = ..., outcome: _Optional[_Union[LaunchStepRecord.Outcome, str]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., detail: _Optional[str] = ...) -> None: ...

class LaunchTarget(_message.Message):
    __slots__ = ("segment", "channel", "template", "snapshot", "total", "sent", "duplicates", "refused", "state", "error", "last_send_time")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[LaunchTarget.State]
        STATE_PENDING: _ClassVar[LaunchTarget.State]
        STATE_DONE: _ClassVar[LaunchTarget.State]
        STATE_FAILED: _ClassVar[LaunchTarget.State]
    STATE_UNSPECIFIED: LaunchTarget.State
    STATE_PENDING: LaunchTarget.State
    STATE_DONE: LaunchTarget.State
    STATE_FAILED: LaunchTarget.State
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    SENT_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    REFUSED_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    LAST_SEND_TIME_FIELD_NUMBER: _ClassVar[int]
    segment: str
    channel: _channel_pb2.Channel
    template: str
    snapshot: str
    total: int
    sent: int
    duplicates: int
    refused: int
    state: LaunchTarget.State
    error: str
    last_send_time: _timestamp_pb2.Timestamp
    def __init__(self, segment: _Optional[str] = ..., channel: _Optional[_Union[_channel_pb2.Channel, str]] = ..., template: _Optional[str] = ..., snapshot: _Optional[str] = ..., total: _Optional[int] = ..., sent: _Optional[int] = ..., duplicates: _Optional[int] = ..., refused: _Optional[int] = ..., state: _Optional[_Union[LaunchTarget.State, str]] = ..., error: _Optional[str] = ..., last_send_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
