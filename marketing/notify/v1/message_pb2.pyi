import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from marketing.common.v1 import channel_pb2 as _channel_pb2
from marketing.common.v1 import message_content_pb2 as _message_content_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Message(_message.Message):
    __slots__ = ("name", "channel", "recipient", "template", "content", "idempotency_key", "category", "campaign", "send_time", "state", "state_reason", "next_attempt_time", "attempt_count", "provider", "provider_message_id", "template_version", "variant", "labels", "create_time", "update_time", "sent_time", "deliver_time", "first_open_time", "first_click_time", "etag")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[Message.State]
        STATE_QUEUED: _ClassVar[Message.State]
        STATE_DEFERRED: _ClassVar[Message.State]
        STATE_SENDING: _ClassVar[Message.State]
        STATE_SENT: _ClassVar[Message.State]
        STATE_DELIVERED: _ClassVar[Message.State]
        STATE_BOUNCED: _ClassVar[Message.State]
        STATE_FAILED: _ClassVar[Message.State]
        STATE_SUPPRESSED: _ClassVar[Message.State]
        STATE_CANCELLED: _ClassVar[Message.State]
    STATE_UNSPECIFIED: Message.State
    STATE_QUEUED: Message.State
    STATE_DEFERRED: Message.State
    STATE_SENDING: Message.State
    STATE_SENT: Message.State
    STATE_DELIVERED: Message.State
    STATE_BOUNCED: Message.State
    STATE_FAILED: Message.State
    STATE_SUPPRESSED: Message.State
    STATE_CANCELLED: Message.State
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    SEND_TIME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STATE_REASON_FIELD_NUMBER: _ClassVar[int]
    NEXT_ATTEMPT_TIME_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_COUNT_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_VERSION_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    SENT_TIME_FIELD_NUMBER: _ClassVar[int]
    DELIVER_TIME_FIELD_NUMBER: _ClassVar[int]
    FIRST_OPEN_TIME_FIELD_NUMBER: _ClassVar[int]
    FIRST_CLICK_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    channel: _channel_pb2.Channel
    recipient: str
    template: TemplateRef
    content: _message_content_pb2.RenderedContent
    idempotency_key: str
    category: _message_content_pb2.MessageCategory
    campaign: str
    send_time: _timestamp_pb2.Timestamp
    state: Message.State
    state_reason: str
    next_attempt_time: _timestamp_pb2.Timestamp
    attempt_count: int
    provider: str
    provider_message_id: str
    template_version: str
    variant: str
    labels: _containers.ScalarMap[str, str]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    sent_time: _timestamp_pb2.Timestamp
    deliver_time: _timestamp_pb2.Timestamp
    first_open_time: _timestamp_pb2.Timestamp
    first_click_time: _timestamp_pb2.Timestamp
    etag: str
    def __init__(self, name: _Optional[str] = ..., channel: _Optional[_Union[_channel_pb2.Channel, str]] = ..., recipient: _Optional[str] = ..., template: _Optional[_Union[TemplateRef, _Mapping]] = ..., content: _Optional[_Union[_message_content_pb2.RenderedContent, _Mapping]] = ..., idempotency_key: _Optional[str] = ..., category: _Optional[_Union[_message_content_pb2.MessageCategory, str]] = ..., campaign: _Optional[str] = ..., send_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state: _Optional[_Union[Message.State, str]] = ..., state_reason: _Optional[str] = ..., next_attempt_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attempt_count: _Optional[int] = ..., provider: _Optional[str] = ..., provider_message_id: _Optional[str] = ..., template_version: _Optional[str] = ..., variant: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sent_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deliver_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., first_open_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., first_click_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class TemplateRef(_message.Message):
    __slots__ = ("template", "variant", "data")
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    template: str
    variant: str
    data: _struct_pb2.Struct
    def __init__(self, template: _Optional[str] = ..., variant: _Optional[str] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class Delivery(_message.Message):
    __slots__ = ("name", "attempt", "provider", "state", "address", "provider_message_id", "provider_response", "bounce_type", "start_time", "end_time", "report_time")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[Delivery.State]
        STATE_PENDING: _ClassVar[Delivery.State]
        STATE_ACCEPTED: _ClassVar[Delivery.State]
        STATE_DELIVERED: _ClassVar[Delivery.State]
        STATE_BOUNCED: _ClassVar[Delivery.State]
        STATE_RETRYABLE_FAILURE: _ClassVar[Delivery.State]
        STATE_PERMANENT_FAILURE: _ClassVar[Delivery.State]
    STATE_UNSPECIFIED: Delivery.State
    STATE_PENDING: Delivery.State
    STATE_ACCEPTED: Delivery.State
    STATE_DELIVERED: Delivery.State
    STATE_BOUNCED: Delivery.State
    STATE_RETRYABLE_FAILURE: Delivery.State
    STATE_PERMANENT_FAILURE: Delivery.State
    class BounceType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        BOUNCE_TYPE_UNSPECIFIED: _ClassVar[Delivery.BounceType]
        BOUNCE_TYPE_HARD: _ClassVar[Delivery.BounceType]
        BOUNCE_TYPE_SOFT: _ClassVar[Delivery.BounceType]
    BOUNCE_TYPE_UNSPECIFIED: Delivery.BounceType
    BOUNCE_TYPE_HARD: Delivery.BounceType
    BOUNCE_TYPE_SOFT: Delivery.BounceType
    NAME_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    BOUNCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    REPORT_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    attempt: int
    provider: str
    state: Delivery.State
    address: str
    provider_message_id: str
    provider_response: str
    bounce_type: Delivery.BounceType
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    report_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., attempt: _Optional[int] = ..., provider: _Optional[str] = ..., state: _Optional[_Union[Delivery.State, str]] = ..., address: _Optional[str] = ..., provider_message_id: _Optional[str] = ..., provider_response: _Optional[str] = ..., bounce_type: _Optional[_Union[Delivery.BounceType, str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., report_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
