import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from marketing.common.v1 import attribute_pb2 as _attribute_pb2
from marketing.common.v1 import channel_pb2 as _channel_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Profile(_message.Message):
    __slots__ = ("name", "email", "phone", "device_tokens", "time_zone", "locale", "attributes", "consents", "create_time", "update_time", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    DEVICE_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    CONSENTS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    email: str
    phone: str
    device_tokens: _containers.RepeatedCompositeFieldContainer[DeviceToken]
    time_zone: str
    locale: str
    attributes: _containers.RepeatedCompositeFieldContainer[_attribute_pb2.Attribute]
    consents: _containers.RepeatedCompositeFieldContainer[Consent]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    def __init__(self, name: _Optional[str] = ..., email: _Optional[str] = ..., phone: _Optional[str] = ..., device_tokens: _Optional[_Iterable[_Union[DeviceToken, _Mapping]]] = ..., time_zone: _Optional[str] = ..., locale: _Optional[str] = ..., attributes: _Optional[_Iterable[_Union[_attribute_pb2.Attribute, _Mapping]]] = ..., consents: _Optional[_Iterable[_Union[Consent, _Mapping]]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class DeviceToken(_message.Message):
    __slots__ = ("token", "platform", "app_id", "last_seen_time")
    class Platform(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        PLATFORM_UNSPECIFIED: _ClassVar[DeviceToken.Platform]
        PLATFORM_IOS: _ClassVar[DeviceToken.Platform]
        PLATFORM_ANDROID: _ClassVar[DeviceToken.Platform]
        PLATFORM_WEB: _ClassVar[DeviceToken.Platform]
    PLATFORM_UNSPECIFIED: DeviceToken.Platform
    PLATFORM_IOS: DeviceToken.Platform
    PLATFORM_ANDROID: DeviceToken.Platform
    PLATFORM_WEB: DeviceToken.Platform
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_TIME_FIELD_NUMBER: _ClassVar[int]
    token: str
    platform: DeviceToken.Platform
    app_id: str
    last_seen_time: _timestamp_pb2.Timestamp
    def __init__(self, token: _Optional[str] = ..., platform: _Optional[_Union[DeviceToken.Platform, str]] = ..., app_id: _Optional[str] = ..., last_seen_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Consent(_message.Message):
    __slots__ = ("channel", "status", "update_time", "source")
    class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATUS_UNSPECIFIED: _ClassVar[Consent.Status]
        STATUS_GRANTED: _ClassVar[Consent.Status]
        STATUS_DENIED: _ClassVar[Consent.Status]
        STATUS_PENDING: _ClassVar[Consent.Status]
    STATUS_UNSPECIFIED: Consent.Status
    STATUS_GRANTED: Consent.Status
    STATUS_DENIED: Consent.Status
    STATUS_PENDING: Consent.Status
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    channel: _channel_pb2.Channel
    status: Consent.Status
    update_time: _timestamp_pb2.Timestamp
    source: str
    def __init__(self, channel: _Optional[_Union[_channel_pb2.Channel, str]] = ..., status: _Optional[_Union[Consent.Status, str]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[str] = ...) -> None: ...

class AttributeDefinition(_message.Message):
    __slots__ = ("name", "type", "display_name", "description", "inferred", "create_time", "update_time", "etag")
    class Type(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        TYPE_UNSPECIFIED: _ClassVar[AttributeDefinition.Type]
        TYPE_STRING: _ClassVar[AttributeDefinition.Type]
        TYPE_INT: _ClassVar[AttributeDefinition.Type]
        TYPE_DOUBLE: _ClassVar[AttributeDefinition.Type]
        TYPE_BOOL: _ClassVar[AttributeDefinition.Type]
        TYPE_TIMESTAMP: _ClassVar[AttributeDefinition.Type]
        TYPE_STRING_LIST: _ClassVar[AttributeDefinition.Type]
    TYPE_UNSPECIFIED: AttributeDefinition.Type
    TYPE_STRING: AttributeDefinition.Type
    TYPE_INT: AttributeDefinition.Type
    TYPE_DOUBLE: AttributeDefinition.Type
    TYPE_BOOL: AttributeDefinition.Type
    TYPE_TIMESTAMP: AttributeDefinition.Type
    TYPE_STRING_LIST: AttributeDefinition.Type
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    INFERRED_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: AttributeDefinition.Type
    display_name: str
    description: str
    inferred: bool
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    def __init__(self, name: _Optional[str] = ..., type: _Optional[_Union[AttributeDefinition.Type, str]] = ..., display_name: _Optional[str] = ..., description: _Optional[str] = ..., inferred: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...
