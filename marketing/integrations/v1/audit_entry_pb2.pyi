import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AuditEntry(_message.Message):
    __slots__ = ("name", "principal", "via", "action", "resource", "time", "source_address", "status", "etag_before", "etag_after")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    VIA_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ETAG_BEFORE_FIELD_NUMBER: _ClassVar[int]
    ETAG_AFTER_FIELD_NUMBER: _ClassVar[int]
    name: str
    principal: str
    via: str
    action: str
    resource: str
    time: _timestamp_pb2.Timestamp
    source_address: str
    status: str
    etag_before: str
    etag_after: str
    def __init__(self, name: _Optional[str] = ..., principal: _Optional[str] = ..., via: _Optional[str] = ..., action: _Optional[str] = ..., resource: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source_address: _Optional[str] = ..., status: _Optional[str] = ..., etag_before: _Optional[str] = ..., etag_after: _Optional[str] = ...) -> None: ...
