from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MessageCategory(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MESSAGE_CATEGORY_UNSPECIFIED: _ClassVar[MessageCategory]
    MESSAGE_CATEGORY_MARKETING: _ClassVar[MessageCategory]
    MESSAGE_CATEGORY_TRANSACTIONAL: _ClassVar[MessageCategory]
MESSAGE_CATEGORY_UNSPECIFIED: MessageCategory
MESSAGE_CATEGORY_MARKETING: MessageCategory
MESSAGE_CATEGORY_TRANSACTIONAL: MessageCategory

class RenderedContent(_message.Message):
    __slots__ = ("email", "sms", "push", "in_app")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    SMS_FIELD_NUMBER: _ClassVar[int]
    PUSH_FIELD_NUMBER: _ClassVar[int]
    IN_APP_FIELD_NUMBER: _ClassVar[int]
    email: RenderedEmail
    sms: RenderedSms
    push: RenderedPush
    in_app: RenderedInApp
    def __init__(self, email: _Optional[_Union[RenderedEmail, _Mapping]] = ..., sms: _Optional[_Union[RenderedSms, _Mapping]] = ..., push: _Optional[_Union[RenderedPush, _Mapping]] = ..., in_app: _Optional[_Union[RenderedInApp, _Mapping]] = ...) -> None: ...

class RenderedEmail(_message.Message):
    __slots__ = ("subject", "preheader", "html", "text", "from_name", "from_address", "reply_to", "headers")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    PREHEADER_FIELD_NUMBER: _ClassVar[int]
    HTML_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    FROM_NAME_FIELD_NUMBER: _ClassVar[int]
    FROM_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    REPLY_TO_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    subject: str
    preheader: str
    html: str
    text: str
    from_name: str
    from_address: str
    reply_to: str
    headers: _containers.RepeatedCompositeFieldContainer[EmailHeader]
    def __init__(self, subject: _Optional[str] = ..., preheader: _Optional[str] = ..., html: _Optional[str] = ..., text: _Optional[str] = ..., from_name: _Optional[str] = ..., from_address: _Optional[str] = ..., reply_to: _Optional[str] = ..., headers: _Optional[_Iterable[_Union[EmailHeader, _Mapping]]] = ...) -> None: ...

class EmailHeader(_message.Message):
    __slots__ = ("name", "value")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class RenderedSms(_message.Message):
    __slots__ = ("body",)
    BODY_FIELD_NUMBER: _ClassVar[int]
    body: str
    def __init__(self, body: _Optional[str] = ...) -> None: ...

class RenderedPush(_message.Message):
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

class RenderedInApp(_message.Message):
    __slots__ = ("title", "body", "image_url", "actions", "data")
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
    title: str
    body: str
    image_url: str
    actions: _containers.RepeatedCompositeFieldContainer[InAppAction]
    data: _containers.ScalarMap[str, str]
    def __init__(self, title: _Optional[str] = ..., body: _Optional[str] = ..., image_url: _Optional[str] = ..., actions: _Optional[_Iterable[_Union[InAppAction, _Mapping]]] = ..., data: _Optional[_Mapping[str, str]] = ...) -> None: ...

class InAppAction(_message.Message):
    __slots__ = ("label", "url")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    label: str
    url: str
    def __init__(self, label: _Optional[str] = ..., url: _Optional[str] = ...) -> None: ...
