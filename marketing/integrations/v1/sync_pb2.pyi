import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.rpc import status_pb2 as _status_pb2
from marketing.common.v1 import operation_pb2 as _operation_pb2
from marketing.integrations.v1 import connector_pb2 as _connector_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Sync(_message.Message):
    __slots__ = ("name", "display_name", "direction", "object", "segment", "remote_object", "field_mappings", "mode", "schedule", "time_zone", "state", "last_run", "next_run_time", "labels", "create_time", "update_time", "etag")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[Sync.State]
        STATE_ACTIVE: _ClassVar[Sync.State]
        STATE_PAUSED: _ClassVar[Sync.State]
    STATE_UNSPECIFIED: Sync.State
    STATE_ACTIVE: Sync.State
    STATE_PAUSED: Sync.State
    class Mode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        MODE_UNSPECIFIED: _ClassVar[Sync.Mode]
        MODE_INCREMENTAL: _ClassVar[Sync.Mode]
        MODE_FULL: _ClassVar[Sync.Mode]
    MODE_UNSPECIFIED: Sync.Mode
    MODE_INCREMENTAL: Sync.Mode
    MODE_FULL: Sync.Mode
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    REMOTE_OBJECT_FIELD_NUMBER: _ClassVar[int]
    FIELD_MAPPINGS_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    LAST_RUN_FIELD_NUMBER: _ClassVar[int]
    NEXT_RUN_TIME_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    direction: _connector_pb2.SyncDirection
    object: _connector_pb2.SyncObject
    segment: str
    remote_object: str
    field_mappings: _containers.RepeatedCompositeFieldContainer[FieldMapping]
    mode: Sync.Mode
    schedule: str
    time_zone: str
    state: Sync.State
    last_run: str
    next_run_time: _timestamp_pb2.Timestamp
    labels: _containers.ScalarMap[str, str]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., direction: _Optional[_Union[_connector_pb2.SyncDirection, str]] = ..., object: _Optional[_Union[_connector_pb2.SyncObject, str]] = ..., segment: _Optional[str] = ..., remote_object: _Optional[str] = ..., field_mappings: _Optional[_Iterable[_Union[FieldMapping, _Mapping]]] = ..., mode: _Optional[_Union[Sync.Mode, str]] = ..., schedule: _Optional[str] = ..., time_zone: _Optional[str] = ..., state: _Optional[_Union[Sync.State, str]] = ..., last_run: _Optional[str] = ..., next_run_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., labels: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class FieldMapping(_message.Message):
    __slots__ = ("source", "destination")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    source: str
    destination: str
    def __init__(self, source: _Optional[str] = ..., destination: _Optional[str] = ...) -> None: ...

class SyncRun(_message.Message):
    __slots__ = ("name", "state", "trigger", "full_resync", "progress", "error", "record_errors", "create_time", "end_time", "etag", "added_count", "removed_count", "start_time", "attempt_count")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[SyncRun.State]
        STATE_QUEUED: _ClassVar[SyncRun.State]
        STATE_RUNNING: _ClassVar[SyncRun.State]
        STATE_SUCCEEDED: _ClassVar[SyncRun.State]
        STATE_FAILED: _ClassVar[SyncRun.State]
        STATE_CANCELLED: _ClassVar[SyncRun.State]
    STATE_UNSPECIFIED: SyncRun.State
    STATE_QUEUED: SyncRun.State
    STATE_RUNNING: SyncRun.State
    STATE_SUCCEEDED: SyncRun.State
    STATE_FAILED: SyncRun.State
    STATE_CANCELLED: SyncRun.State
    class Trigger(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        TRIGGER_UNSPECIFIED: _ClassVar[SyncRun.Trigger]
        TRIGGER_MANUAL: _ClassVar[SyncRun.Trigger]
        TRIGGER_SCHEDULE: _ClassVar[SyncRun.Trigger]
    TRIGGER_UNSPECIFIED: SyncRun.Trigger
    TRIGGER_MANUAL: SyncRun.Trigger
    TRIGGER_SCHEDULE: SyncRun.Trigger
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    FULL_RESYNC_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RECORD_ERRORS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    ADDED_COUNT_FIELD_NUMBER: _ClassVar[int]
    REMOVED_COUNT_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    state: SyncRun.State
    trigger: SyncRun.Trigger
    full_resync: bool
    progress: _operation_pb2.Progress
    error: _status_pb2.Status
    record_errors: _containers.RepeatedCompositeFieldContainer[RecordError]
    create_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    etag: str
    added_count: int
    removed_count: int
    start_time: _timestamp_pb2.Timestamp
    attempt_count: int
    def __init__(self, name: _Optional[str] = ..., state: _Optional[_Union[SyncRun.State, str]] = ..., trigger: _Optional[_Union[SyncRun.Trigger, str]] = ..., full_resync: _Optional[bool] = ..., progress: _Optional[_Union[_operation_pb2.Progress, _Mapping]] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ..., record_errors: _Optional[_Iterable[_Union[RecordError, _Mapping]]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., added_count: _Optional[int] = ..., removed_count: _Optional[int] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attempt_count: _Optional[int] = ...) -> None: ...

class RecordError(_message.Message):
    __slots__ = ("record_id", "field", "reason")
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    field: str
    reason: str
    def __init__(self, record_id: _Optional[str] = ..., field: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...
