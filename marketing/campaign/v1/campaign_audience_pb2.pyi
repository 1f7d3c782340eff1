import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CampaignAudience(_message.Message):
    __slots__ = ("name", "size", "segments")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    name: str
    size: int
    segments: _containers.RepeatedCompositeFieldContainer[CachedSegment]
    def __init__(self, name: _Optional[str] = ..., size: _Optional[int] = ..., segments: _Optional[_Iterable[_Union[CachedSegment, _Mapping]]] = ...) -> None: ...

class CachedSegment(_message.Message):
    __slots__ = ("segment", "state", "size", "event_time", "update_time")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[CachedSegment.State]
        STATE_UNKNOWN: _ClassVar[CachedSegment.State]
        STATE_CURRENT: _ClassVar[CachedSegment.State]
        STATE_DELETED: _ClassVar[CachedSegment.State]
    STATE_UNSPECIFIED: CachedSegment.State
    STATE_UNKNOWN: CachedSegment.State
    STATE_CURRENT: CachedSegment.State
    STATE_DELETED: CachedSegment.State
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    segment: str
    state: CachedSegment.State
    size: int
    event_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, segment: _Optional[str] = ..., state: _Optional[_Union[CachedSegment.State, str]] = ..., size: _Optional[int] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
