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

class ErasureRequest(_message.Message):
    __slots__ = ("name", "profile", "state", "create_time", "complete_time", "confirmations")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[ErasureRequest.State]
        STATE_PENDING: _ClassVar[ErasureRequest.State]
        STATE_COMPLETE: _ClassVar[ErasureRequest.State]
    STATE_UNSPECIFIED: ErasureRequest.State
    STATE_PENDING: ErasureRequest.State
    STATE_COMPLETE: ErasureRequest.State
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_TIME_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATIONS_FIELD_NUMBER: _ClassVar[int]
    name: str
    profile: str
    state: ErasureRequest.State
    create_time: _timestamp_pb2.Timestamp
    complete_time: _timestamp_pb2.Timestamp
    confirmations: _containers.RepeatedCompositeFieldContainer[ErasureConfirmation]
    def __init__(self, name: _Optional[str] = ..., profile: _Optional[str] = ..., state: _Optional[_Union[ErasureRequest.State, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., complete_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., confirmations: _Optional[_Iterable[_Union[ErasureConfirmation, _Mapping]]] = ...) -> None: ...

class ErasureConfirmation(_message.Message):
    __slots__ = ("service", "state", "confirm_time", "counts")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[ErasureConfirmation.State]
        STATE_PENDING: _ClassVar[ErasureConfirmation.State]
        STATE_CONFIRMED: _ClassVar[ErasureConfirmation.State]
    STATE_UNSPECIFIED: ErasureConfirmation.State
    STATE_PENDING: ErasureConfirmation.State
    STATE_CONFIRMED: ErasureConfirmation.State
    class CountsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CONFIRM_TIME_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    service: str
    state: ErasureConfirmation.State
    confirm_time: _timestamp_pb2.Timestamp
    counts: _containers.ScalarMap[str, int]
    def __init__(self, service: _Optional[str] = ..., state: _Optional[_Union[ErasureConfirmation.State, str]] = ..., confirm_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., counts: _Optional[_Mapping[str, int]] = ...) -> None: ...
