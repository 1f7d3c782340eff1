from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SyncDirection(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SYNC_DIRECTION_UNSPECIFIED: _ClassVar[SyncDirection]
    SYNC_DIRECTION_IMPORT: _ClassVar[SyncDirection]
    SYNC_DIRECTION_EXPORT: _ClassVar[SyncDirection]

class SyncObject(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SYNC_OBJECT_UNSPECIFIED: _ClassVar[SyncObject]
    SYNC_OBJECT_PROFILES: _ClassVar[SyncObject]
    SYNC_OBJECT_SEGMENT_MEMBERS: _ClassVar[SyncObject]
    SYNC_OBJECT_EVENTS: _ClassVar[SyncObject]
    SYNC_OBJECT_SUPPRESSIONS: _ClassVar[SyncObject]
    SYNC_OBJECT_CAMPAIGN_REPORTS: _ClassVar[SyncObject]
SYNC_DIRECTION_UNSPECIFIED: SyncDirection
SYNC_DIRECTION_IMPORT: SyncDirection
SYNC_DIRECTION_EXPORT: SyncDirection
SYNC_OBJECT_UNSPECIFIED: SyncObject
SYNC_OBJECT_PROFILES: SyncObject
SYNC_OBJECT_SEGMENT_MEMBERS: SyncObject
SYNC_OBJECT_EVENTS: SyncObject
SYNC_OBJECT_SUPPRESSIONS: SyncObject
SYNC_OBJECT_CAMPAIGN_REPORTS: SyncObject

class Connector(_message.Message):
    __slots__ = ("name", "display_name", "description", "category", "auth_type", "parameters", "credential_keys", "capabilities", "documentation_uri", "icon_uri", "version")
    class Category(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        CATEGORY_UNSPECIFIED: _ClassVar[Connector.Category]
        CATEGORY_WEBHOOK: _ClassVar[Connector.Category]
        CATEGORY_CRM: _ClassVar[Connector.Category]
        CATEGORY_AD_PLATFORM: _ClassVar[Connector.Category]
        CATEGORY_DATA_WAREHOUSE: _ClassVar[Connector.Category]
        CATEGORY_ECOMMERCE: _ClassVar[Connector.Category]
        CATEGORY_STORAGE: _ClassVar[Connector.Category]
    CATEGORY_UNSPECIFIED: Connector.Category
    CATEGORY_WEBHOOK: Connector.Category
    CATEGORY_CRM: Connector.Category
    CATEGORY_AD_PLATFORM: Connector.Category
    CATEGORY_DATA_WAREHOUSE: Connector.Category
    CATEGORY_ECOMMERCE: Connector.Category
    CATEGORY_STORAGE: Connector.Category
    class AuthType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        AUTH_TYPE_UNSPECIFIED: _ClassVar[Connector.AuthType]
        AUTH_TYPE_NONE: _ClassVar[Connector.AuthType]
        AUTH_TYPE_API_KEY: _ClassVar[Connector.AuthType]
        AUTH_TYPE_BASIC: _ClassVar[Connector.AuthType]
        AUTH_TYPE_OAUTH2: _ClassVar[Connector.AuthType]
        AUTH_TYPE_SERVICE_ACCOUNT: _ClassVar[Connector.AuthType]
    AUTH_TYPE_UNSPECIFIED: Connector.AuthType
    AUTH_TYPE_NONE: Connector.AuthType
    AUTH_TYPE_API_KEY: Connector.AuthType
    AUTH_TYPE_BASIC: Connector.AuthType
    AUTH_TYPE_OAUTH2: Connector.AuthType
    AUTH_TYPE_SERVICE_ACCOUNT: Connector.AuthType
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    AUTH_TYPE_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_KEYS_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    DOCUMENTATION_URI_FIELD_NUMBER: _ClassVar[int]
    ICON_URI_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    description: str
    category: Connector.Category
    auth_type: Connector.AuthType
    parameters: _containers.RepeatedCompositeFieldContainer[ParameterSpec]
    credential_keys: _containers.RepeatedScalarFieldContainer[str]
    capabilities: _containers.RepeatedCompositeFieldContainer[SyncCapability]
    documentation_uri: str
    icon_uri: str
    version: str
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., description: _Optional[str] = ..., category: _Optional[_Union[Connector.Category, str]] = ..., auth_type: _Optional[_Union[Connector.AuthType, str]] = ..., parameters: _Optional[_Iterable[_Union[ParameterSpec, _Mapping]]] = ..., credential_keys: _Optional[_Iterable[str]] = ..., capabilities: _Optional[_Iterable[_Union[SyncCapability, _Mapping]]] = ..., documentation_uri: _Optional[str] = ..., icon_uri: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...

class ParameterSpec(_message.Message):
    __slots__ = ("key", "display_name", "description", "type", "required", "default_value", "allowed_values")
    class Type(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        TYPE_UNSPECIFIED: _ClassVar[ParameterSpec.Type]
        TYPE_STRING: _ClassVar[ParameterSpec.Type]
        TYPE_INT: _ClassVar[ParameterSpec.Type]
        TYPE_BOOL: _ClassVar[ParameterSpec.Type]
        TYPE_ENUM: _ClassVar[ParameterSpec.Type]
        TYPE_URL: _ClassVar[ParameterSpec.Type]
    TYPE_UNSPECIFIED: ParameterSpec.Type
    TYPE_STRING: ParameterSpec.Type
    TYPE_INT: ParameterSpec.Type
    TYPE_BOOL: ParameterSpec.Type
    TYPE_ENUM: ParameterSpec.Type
    TYPE_URL: ParameterSpec.Type
    KEY_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_VALUE_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_VALUES_FIELD_NUMBER: _ClassVar[int]
    key: str
    display_name: str
    description: str
    type: ParameterSpec.Type
    required: bool
    default_value: str
    allowed_values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, key: _Optional[str] = ..., display_name: _Optional[str] = ..., description: _Optional[str] = ..., type: _Optional[_Union[ParameterSpec.Type, str]] = ..., required: _Optional[bool] = ..., default_value: _Optional[str] = ..., allowed_values: _Optional[_Iterable[str]] = ...) -> None: ...

class SyncCapability(_message.Message):
    __slots__ = ("direction", "object")
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    direction: SyncDirection
    object: SyncObject
    def __init__(self, direction: _Optional[_Union[SyncDirection, str]] = ..., object: _Optional[_Union[SyncObject, str]] = ...) -> None: ...
