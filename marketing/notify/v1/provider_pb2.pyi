import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.type import money_pb2 as _money_pb2
from marketing.common.v1 import channel_pb2 as _channel_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Provider(_message.Message):
    __slots__ = ("name", "display_name", "channel", "smtp", "twilio", "fcm", "priority", "rate_limit", "domain_rate_limits", "disabled", "create_time", "update_time", "etag", "unit_cost")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    SMTP_FIELD_NUMBER: _ClassVar[int]
    TWILIO_FIELD_NUMBER: _ClassVar[int]
    FCM_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    RATE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    DOMAIN_RATE_LIMITS_FIELD_NUMBER: _ClassVar[int]
    DISABLED_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    UNIT_COST_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    channel: _channel_pb2.Channel
    smtp: SmtpConfig
    twilio: TwilioConfig
    fcm: FcmConfig
    priority: int
    rate_limit: RateLimit
    domain_rate_limits: _containers.RepeatedCompositeFieldContainer[DomainRateLimit]
    disabled: bool
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    unit_cost: _money_pb2.Money
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., channel: _Optional[_Union[_channel_pb2.Channel, str]] = ..., smtp: _Optional[_Union[SmtpConfig, _Mapping]] = ..., twilio: _Optional[_Union[TwilioConfig, _Mapping]] = ..., fcm: _Optional[_Union[FcmConfig, _Mapping]] = ..., priority: _Optional[int] = ..., rate_limit: _Optional[_Union[RateLimit, _Mapping]] = ..., domain_rate_limits: _Optional[_Iterable[_Union[DomainRateLimit, _Mapping]]] = ..., disabled: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., unit_cost: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class SmtpConfig(_message.Message):
    __slots__ = ("host", "port", "security", "username", "password_secret", "from_address", "from_name", "max_connections")
    class Security(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        SECURITY_UNSPECIFIED: _ClassVar[SmtpConfig.Security]
        SECURITY_NONE: _ClassVar[SmtpConfig.Security]
        SECURITY_STARTTLS: _ClassVar[SmtpConfig.Security]
        SECURITY_TLS: _ClassVar[SmtpConfig.Security]
    SECURITY_UNSPECIFIED: SmtpConfig.Security
    SECURITY_NONE: SmtpConfig.Security
    SECURITY_STARTTLS: SmtpConfig.Security
    SECURITY_TLS: SmtpConfig.Security
    HOST_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    SECURITY_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_SECRET_FIELD_NUMBER: _ClassVar[int]
    FROM_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    FROM_NAME_FIELD_NUMBER: _ClassVar[int]
    MAX_CONNECTIONS_FIELD_NUMBER: _ClassVar[int]
    host: str
    port: int
    security: SmtpConfig.Security
    username: str
    password_secret: str
    from_address: str
    from_name: str
    max_connections: int
    def __init__(self, host: _Optional[str] = ..., port: _Optional[int] = ..., security: _Optional[_Union[SmtpConfig.Security, str]] = ..., username: _Optional[str] = ..., password_secret: _Optional[str] = ..., from_address: _Optional[str] = ..., from_name: _Optional[str] = ..., max_connections: _Optional[int] = ...) -> None: ...

class TwilioConfig(_message.Message):
    __slots__ = ("base_url", "account_sid", "auth_token_secret", "from_number", "messaging_service_sid")
    BASE_URL_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_SID_FIELD_NUMBER: _ClassVar[int]
    AUTH_TOKEN_SECRET_FIELD_NUMBER: _ClassVar[int]
    FROM_NUMBER_FIELD_NUMBER: _ClassVar[int]
    MESSAGING_SERVICE_SID_FIELD_NUMBER: _ClassVar[int]
    base_url: str
    account_sid: str
    auth_token_secret: str
    from_number: str
    messaging_service_sid: str
    def __init__(self, base_url: _Optional[str] = ..., account_sid: _Optional[str] = ..., auth_token_secret: _Optional[str] = ..., from_number: _Optional[str] = ..., messaging_service_sid: _Optional[str] = ...) -> None: ...

class FcmConfig(_message.Message):
    __slots__ = ("base_url", "project_id", "service_account_secret")
    BASE_URL_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_ACCOUNT_SECRET_FIELD_NUMBER: _ClassVar[int]
    base_url: str
    project_id: str
    service_account_secret: str
    def __init__(self, base_url: _Optional[str] = ..., project_id: _Optional[str] = ..., service_account_secret: _Optional[str] = ...) -> None: ...

class RateLimit(_message.Message):
    __slots__ = ("messages_per_second", "burst")
    MESSAGES_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    BURST_FIELD_NUMBER: _ClassVar[int]
    messages_per_second: float
    burst: int
    def __init__(self, messages_per_second: _Optional[float] = ..., burst: _Optional[int] = ...) -> None: ...

class DomainRateLimit(_message.Message):
    __slots__ = ("domain", "rate_limit")
    DOMAIN_FIELD_NUMBER: _ClassVar[int]
    RATE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    domain: str
    rate_limit: RateLimit
    def __init__(self, domain: _Optional[str] = ..., rate_limit: _Optional[_Union[RateLimit, _Mapping]] = ...) -> None: ...
