import datetime

from buf.validate import validate_pb2 as _validate_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from marketing.audience.v1 import profile_pb2 as _profile_pb2
from marketing.common.v1 import channel_pb2 as _channel_pb2
from marketing.common.v1 import operation_pb2 as _operation_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MemberView(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MEMBER_VIEW_UNSPECIFIED: _ClassVar[MemberView]
    MEMBER_VIEW_BASIC: _ClassVar[MemberView]
    MEMBER_VIEW_FULL: _ClassVar[MemberView]
MEMBER_VIEW_UNSPECIFIED: MemberView
MEMBER_VIEW_BASIC: MemberView
MEMBER_VIEW_FULL: MemberView

class Segment(_message.Message):
    __slots__ = ("name", "display_name", "description", "definition", "kind", "lookalike", "state", "state_message", "size", "channel_sizes", "size_time", "progress", "labels", "create_time", "update_time", "etag")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[Segment.Kind]
        KIND_RULES: _ClassVar[Segment.Kind]
        KIND_LOOKALIKE: _ClassVar[Segment.Kind]
        KIND_STATIC: _ClassVar[Segment.Kind]
    KIND_UNSPECIFIED: Segment.Kind
    KIND_RULES: Segment.Kind
    KIND_LOOKALIKE: Segment.Kind
    KIND_STATIC: Segment.Kind
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[Segment.State]
        STATE_COMPUTING: _ClassVar[Segment.State]
        STATE_ACTIVE: _ClassVar[Segment.State]
        STATE_FAILED: _ClassVar[Segment.State]
    STATE_UNSPECIFIED: Segment.State
    STATE_COMPUTING: Segment.State
    STATE_ACTIVE: Segment.State
    STATE_FAILED: Segment.State
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
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LOOKALIKE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STATE_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_SIZES_FIELD_NUMBER: _ClassVar[int]
    SIZE_TIME_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    description: str
    definition: str
    kind: Segment.Kind
    lookalike: str
    state: Segment.State
    state_message: str
    size: int
    channel_sizes: _containers.RepeatedCompositeFieldContainer[ChannelSize]
    size_time: _timestamp_pb2.Timestamp
    progress: _operation_pb2.Progress
    labels: _containers.ScalarMap[str, str]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., description: _Optional[str] = ..., definition: _Optional[str] = ..., kind: _Optional[_Union[Segment.Kind, str]] = ..., lookalike: _Optional[str] = ..., state: _Optional[_Union[Segment.State, str]] = ..., state_message: _Optional[str] = ..., size: _Optional[int] = ..., channel_sizes: _Optional[_Iterable[_Union[ChannelSize, _Mapping]]] = ..., size_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., progress: _Optional[_Union[_operation_pb2.Progress, _Mapping]] = ..., labels: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class ChannelSize(_message.Message):
    __slots__ = ("channel", "size")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    channel: _channel_pb2.Channel
    size: int
    def __init__(self, channel: _Optional[_Union[_channel_pb2.Channel, str]] = ..., size: _Optional[int] = ...) -> None: ...

class SegmentSnapshot(_message.Message):
    __slots__ = ("name", "channel", "campaign", "state", "state_message", "size", "definition", "progress", "create_time", "expire_time")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[SegmentSnapshot.State]
        STATE_CREATING: _ClassVar[SegmentSnapshot.State]
        STATE_READY: _ClassVar[SegmentSnapshot.State]
        STATE_FAILED: _ClassVar[SegmentSnapshot.State]
    STATE_UNSPECIFIED: SegmentSnapshot.State
    STATE_CREATING: SegmentSnapshot.State
    STATE_READY: SegmentSnapshot.State
    STATE_FAILED: SegmentSnapshot.State
    NAME_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STATE_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    channel: _channel_pb2.Channel
    campaign: str
    state: SegmentSnapshot.State
    state_message: str
    size: int
    definition: str
    progress: _operation_pb2.Progress
    create_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., channel: _Optional[_Union[_channel_pb2.Channel, str]] = ..., campaign: _Optional[str] = ..., state: _Optional[_Union[SegmentSnapshot.State, str]] = ..., state_message: _Optional[str] = ..., size: _Optional[int] = ..., definition: _Optional[str] = ..., progress: _Optional[_Union[_operation_pb2.Progress, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SegmentMember(_message.Message):
    __slots__ = ("profile", "details", "join_time")
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    JOIN_TIME_FIELD_NUMBER: _ClassVar[int]
    profile: str
    details: _profile_pb2.Profile
    join_time: _timestamp_pb2.Timestamp
    def __init__(self, profile: _Optional[str] = ..., details: _Optional[_Union[_profile_pb2.Profile, _Mapping]] = ..., join_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Lookalike(_message.Message):
    __slots__ = ("name", "display_name", "description", "seed_segment", "top_n", "min_score", "features", "include_seed_members", "segment", "state", "state_message", "progress", "quality", "size", "fit_time", "labels", "create_time", "update_time", "etag")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[Lookalike.State]
        STATE_TRAINING: _ClassVar[Lookalike.State]
        STATE_READY: _ClassVar[Lookalike.State]
        STATE_FAILED: _ClassVar[Lookalike.State]
    STATE_UNSPECIFIED: Lookalike.State
    STATE_TRAINING: Lookalike.State
    STATE_READY: Lookalike.State
    STATE_FAILED: Lookalike.State
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
    SEED_SEGMENT_FIELD_NUMBER: _ClassVar[int]
    TOP_N_FIELD_NUMBER: _ClassVar[int]
    MIN_SCORE_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_SEED_MEMBERS_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STATE_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    FIT_TIME_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    description: str
    seed_segment: str
    top_n: int
    min_score: float
    features: _containers.RepeatedScalarFieldContainer[str]
    include_seed_members: bool
    segment: str
    state: Lookalike.State
    state_message: str
    progress: _operation_pb2.Progress
    quality: LookalikeQuality
    size: int
    fit_time: _timestamp_pb2.Timestamp
    labels: _containers.ScalarMap[str, str]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., description: _Optional[str] = ..., seed_segment: _Optional[str] = ..., top_n: _Optional[int] = ..., min_score: _Optional[float] = ..., features: _Optional[_Iterable[str]] = ..., include_seed_members: _Optional[bool] = ..., segment: _Optional[str] = ..., state: _Optional[_Union[Lookalike.State, str]] = ..., state_message: _Optional[str] = ..., progress: _Optional[_Union[_operation_pb2.Progress, _Mapping]] = ..., quality: _Optional[_Union[LookalikeQuality, _Mapping]] = ..., size: _Optional[int] = ..., fit_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., labels: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class LookalikeQuality(_message.Message):
    __slots__ = ("precision_at_n", "baseline_precision", "auc", "seed_size")
    PRECISION_AT_N_FIELD_NUMBER: _ClassVar[int]
    BASELINE_PRECISION_FIELD_NUMBER: _ClassVar[int]
    AUC_FIELD_NUMBER: _ClassVar[int]
    SEED_SIZE_FIELD_NUMBER: _ClassVar[int]
    precision_at_n: float
    baseline_precision: float
    auc: float
    seed_size: int
    def __init__(self, precision_at_n: _Optional[float] = ..., baseline_precision: _Optional[float] = ..., auc: _Optional[float] = ..., seed_size: _Optional[int] = ...) -> None: ...
