import datetime

from buf.validate import validate_pb2 as _validate_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from marketing.common.v1 import channel_pb2 as _channel_pb2
from marketing.common.v1 import message_content_pb2 as _message_content_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Template(_message.Message):
    __slots__ = ("name", "display_name", "description", "channel", "content", "variants", "latest_version", "unpublished_changes", "variables", "segments", "labels", "create_time", "update_time", "etag", "defaults")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class DefaultsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    VARIANTS_FIELD_NUMBER: _ClassVar[int]
    LATEST_VERSION_FIELD_NUMBER: _ClassVar[int]
    UNPUBLISHED_CHANGES_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    DEFAULTS_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    description: str
    channel: _channel_pb2.Channel
    content: TemplateContent
    variants: _containers.RepeatedCompositeFieldContainer[Variant]
    latest_version: str
    unpublished_changes: bool
    variables: _containers.RepeatedScalarFieldContainer[str]
    segments: _containers.RepeatedScalarFieldContainer[str]
    labels: _containers.ScalarMap[str, str]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    defaults: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., description: _Optional[str] = ..., channel: _Optional[_Union[_channel_pb2.Channel, str]] = ..., content: _Optional[_Union[TemplateContent, _Mapping]] = ..., variants: _Optional[_Iterable[_Union[Variant, _Mapping]]] = ..., latest_version: _Optional[str] = ..., unpublished_changes: _Optional[bool] = ..., variables: _Optional[_Iterable[str]] = ..., segments: _Optional[_Iterable[str]] = ..., labels: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., defaults: _Optional[_Mapping[str, str]] = ...) -> None: ...

class TemplateContent(_message.Message):
    __slots__ = ("email", "sms", "push", "in_app")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    SMS_FIELD_NUMBER: _ClassVar[int]
    PUSH_FIELD_NUMBER: _ClassVar[int]
    IN_APP_FIELD_NUMBER: _ClassVar[int]
    email: EmailTemplate
    sms: SmsTemplate
    push: PushTemplate
    in_app: InAppTemplate
    def __init__(self, email: _Optional[_Union[EmailTemplate, _Mapping]] = ..., sms: _Optional[_Union[SmsTemplate, _Mapping]] = ..., push: _Optional[_Union[PushTemplate, _Mapping]] = ..., in_app: _Optional[_Union[InAppTemplate, _Mapping]] = ...) -> None: ...

class EmailTemplate(_message.Message):
    __slots__ = ("subject", "preheader", "html", "text", "mjml", "from_name", "from_address", "reply_to", "compiled_html", "compiled_text")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    PREHEADER_FIELD_NUMBER: _ClassVar[int]
    HTML_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    MJML_FIELD_NUMBER: _ClassVar[int]
    FROM_NAME_FIELD_NUMBER: _ClassVar[int]
    FROM_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    REPLY_TO_FIELD_NUMBER: _ClassVar[int]
    COMPILED_HTML_FIELD_NUMBER: _ClassVar[int]
    COMPILED_TEXT_FIELD_NUMBER: _ClassVar[int]
    subject: str
    preheader: str
    html: str
    text: str
    mjml: bool
    from_name: str
    from_address: str
    reply_to: str
    compiled_html: str
    compiled_text: str
    def __init__(self, subject: _Optional[str] = ..., preheader: _Optional[str] = ..., html: _Optional[str] = ..., text: _Optional[str] = ..., mjml: _Optional[bool] = ..., from_name: _Optional[str] = ..., from_address: _Optional[str] = ..., reply_to: _Optional[str] = ..., compiled_html: _Optional[str] = ..., compiled_text: _Optional[str] = ...) -> None: ...

class SmsTemplate(_message.Message):
    __slots__ = ("body",)
    BODY_FIELD_NUMBER: _ClassVar[int]
    body: str
    def __init__(self, body: _Optional[str] = ...) -> None: ...

class PushTemplate(_message.Message):
    __slots__ = ("title", "body", "data", "image_url", "deep_link")
    class DataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TITLE_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    IMAGE_URL_FIELD_NUMBER: _ClassVar[int]
    DEEP_LINK_FIELD_NUMBER: _ClassVar[int]
    title: str
    body: str
    data: _containers.ScalarMap[str, str]
    image_url: str
    deep_link: str
    def __init__(self, title: _Optional[str] = ..., body: _Optional[str] = ..., data: _Optional[_Mapping[str, str]] = ..., image_url: _Optional[str] = ..., deep_link: _Optional[str] = ...) -> None: ...

class InAppTemplate(_message.Message):
    __slots__ = ("title", "body", "image_url", "actions", "data", "time_to_live")
    class DataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TITLE_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    IMAGE_URL_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    TIME_TO_LIVE_FIELD_NUMBER: _ClassVar[int]
    title: str
    body: str
    image_url: str
    actions: _containers.RepeatedCompositeFieldContainer[_message_content_pb2.InAppAction]
    data: _containers.ScalarMap[str, str]
    time_to_live: _duration_pb2.Duration
    def __init__(self, title: _Optional[str] = ..., body: _Optional[str] = ..., image_url: _Optional[str] = ..., actions: _Optional[_Iterable[_Union[_message_content_pb2.InAppAction, _Mapping]]] = ..., data: _Optional[_Mapping[str, str]] = ..., time_to_live: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class Variant(_message.Message):
    __slots__ = ("id", "display_name", "weight", "content")
    ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    id: str
    display_name: str
    weight: int
    content: TemplateContent
    def __init__(self, id: _Optional[str] = ..., display_name: _Optional[str] = ..., weight: _Optional[int] = ..., content: _Optional[_Union[TemplateContent, _Mapping]] = ...) -> None: ...

class TemplateVersion(_message.Message):
    __slots__ = ("name", "channel", "content", "variants", "change_note", "variables", "segments", "create_time", "defaults")
    class DefaultsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    VARIANTS_FIELD_NUMBER: _ClassVar[int]
    CHANGE_NOTE_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DEFAULTS_FIELD_NUMBER: _ClassVar[int]
    name: str
    channel: _channel_pb2.Channel
    content: TemplateContent
    variants: _containers.RepeatedCompositeFieldContainer[Variant]
    change_note: str
    variables: _containers.RepeatedScalarFieldContainer[str]
    segments: _containers.RepeatedScalarFieldContainer[str]
    create_time: _timestamp_pb2.Timestamp
    defaults: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., channel: _Optional[_Union[_channel_pb2.Channel, str]] = ..., content: _Optional[_Union[TemplateContent, _Mapping]] = ..., variants: _Optional[_Iterable[_Union[Variant, _Mapping]]] = ..., change_note: _Optional[str] = ..., variables: _Optional[_Iterable[str]] = ..., segments: _Optional[_Iterable[str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., defaults: _Optional[_Mapping[str, str]] = ...) -> None: ...
