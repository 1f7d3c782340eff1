import datetime

from buf.validate import validate_pb2 as _validate_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.api import client_pb2 as _client_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import httpbody_pb2 as _httpbody_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from marketing.audience.v1 import erasure_request_pb2 as _erasure_request_pb2
from marketing.audience.v1 import profile_pb2 as _profile_pb2
from marketing.audience.v1 import segment_pb2 as _segment_pb2
from marketing.audience.v1 import suppression_pb2 as _suppression_pb2
from marketing.common.v1 import channel_pb2 as _channel_pb2
from marketing.common.v1 import message_content_pb2 as _message_content_pb2
from marketing.common.v1 import privacy_pb2 as _privacy_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateProfileRequest(_message.Message):
    __slots__ = ("parent", "profile", "profile_id", "request_id", "validate_only")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    parent: str
    profile: _profile_pb2.Profile
    profile_id: str
    request_id: str
    validate_only: bool
    def __init__(self, parent: _Optional[str] = ..., profile: _Optional[_Union[_profile_pb2.Profile, _Mapping]] = ..., profile_id: _Optional[str] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class GetProfileRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class BatchGetProfilesRequest(_message.Message):
    __slots__ = ("parent", "names", "allow_missing")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    NAMES_FIELD_NUMBER: _ClassVar[int]
    ALLOW_MISSING_FIELD_NUMBER: _ClassVar[int]
    parent: str
    names: _containers.RepeatedScalarFieldContainer[str]
    allow_missing: bool
    def __init__(self, parent: _Optional[str] = ..., names: _Optional[_Iterable[str]] = ..., allow_missing: _Optional[bool] = ...) -> None: ...

class BatchGetProfilesResponse(_message.Message):
    __slots__ = ("profiles",)
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    profiles: _containers.RepeatedCompositeFieldContainer[_profile_pb2.Profile]
    def __init__(self, profiles: _Optional[_Iterable[_Union[_profile_pb2.Profile, _Mapping]]] = ...) -> None: ...

class ListProfilesRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "filter")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    filter: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ...) -> None: ...

class ListProfilesResponse(_message.Message):
    __slots__ = ("profiles", "next_page_token")
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    profiles: _containers.RepeatedCompositeFieldContainer[_profile_pb2.Profile]
    next_page_token: str
    def __init__(self, profiles: _Optional[_Iterable[_Union[_profile_pb2.Profile, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateProfileRequest(_message.Message):
    __slots__ = ("profile", "update_mask")
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    profile: _profile_pb2.Profile
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, profile: _Optional[_Union[_profile_pb2.Profile, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpsertProfileRequest(_message.Message):
    __slots__ = ("name", "profile", "remove_attributes", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    REMOVE_ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    profile: _profile_pb2.Profile
    remove_attributes: _containers.RepeatedScalarFieldContainer[str]
    etag: str
    def __init__(self, name: _Optional[str] = ..., profile: _Optional[_Union[_profile_pb2.Profile, _Mapping]] = ..., remove_attributes: _Optional[_Iterable[str]] = ..., etag: _Optional[str] = ...) -> None: ...

class UpsertProfileResponse(_message.Message):
    __slots__ = ("profile", "created")
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    profile: _profile_pb2.Profile
    created: bool
    def __init__(self, profile: _Optional[_Union[_profile_pb2.Profile, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class EraseProfileRequest(_message.Message):
    __slots__ = ("name", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class GetErasureRequestRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListErasureRequestsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListErasureRequestsResponse(_message.Message):
    __slots__ = ("erasure_requests", "next_page_token")
    ERASURE_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    erasure_requests: _containers.RepeatedCompositeFieldContainer[_erasure_request_pb2.ErasureRequest]
    next_page_token: str
    def __init__(self, erasure_requests: _Optional[_Iterable[_Union[_erasure_request_pb2.ErasureRequest, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ExportProfileDataRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ExportProfileDataResponse(_message.Message):
    __slots__ = ("profile", "export_time", "sections")
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    EXPORT_TIME_FIELD_NUMBER: _ClassVar[int]
    SECTIONS_FIELD_NUMBER: _ClassVar[int]
    profile: str
    export_time: _timestamp_pb2.Timestamp
    sections: _containers.RepeatedCompositeFieldContainer[_privacy_pb2.ProfileData]
    def __init__(self, profile: _Optional[str] = ..., export_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sections: _Optional[_Iterable[_Union[_privacy_pb2.ProfileData, _Mapping]]] = ...) -> None: ...

class DeleteProfileRequest(_message.Message):
    __slots__ = ("name", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class ImportProfilesRequest(_message.Message):
    __slots__ = ("parent", "records", "replace", "validate_only")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    REPLACE_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    parent: str
    records: _containers.RepeatedCompositeFieldContainer[ProfileRecord]
    replace: bool
    validate_only: bool
    def __init__(self, parent: _Optional[str] = ..., records: _Optional[_Iterable[_Union[ProfileRecord, _Mapping]]] = ..., replace: _Optional[bool] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class ProfileRecord(_message.Message):
    __slots__ = ("line", "profile_id", "profile")
    LINE_FIELD_NUMBER: _ClassVar[int]
    PROFILE_ID_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    line: int
    profile_id: str
    profile: _profile_pb2.Profile
    def __init__(self, line: _Optional[int] = ..., profile_id: _Optional[str] = ..., profile: _Optional[_Union[_profile_pb2.Profile, _Mapping]] = ...) -> None: ...

class ImportProfilesResponse(_message.Message):
    __slots__ = ("received", "inserted", "updated", "rejected", "rejections")
    RECEIVED_FIELD_NUMBER: _ClassVar[int]
    INSERTED_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    received: int
    inserted: int
    updated: int
    rejected: int
    rejections: _containers.RepeatedCompositeFieldContainer[RejectedRecord]
    def __init__(self, received: _Optional[int] = ..., inserted: _Optional[int] = ..., updated: _Optional[int] = ..., rejected: _Optional[int] = ..., rejections: _Optional[_Iterable[_Union[RejectedRecord, _Mapping]]] = ...) -> None: ...

class RejectedRecord(_message.Message):
    __slots__ = ("line", "id", "field", "reason")
    LINE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    line: int
    id: str
    field: str
    reason: str
    def __init__(self, line: _Optional[int] = ..., id: _Optional[str] = ..., field: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CheckReachabilityRequest(_message.Message):
    __slots__ = ("parent", "channel", "category", "profiles")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    parent: str
    channel: _channel_pb2.Channel
    category: _message_content_pb2.MessageCategory
    profiles: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, parent: _Optional[str] = ..., channel: _Optional[_Union[_channel_pb2.Channel, str]] = ..., category: _Optional[_Union[_message_content_pb2.MessageCategory, str]] = ..., profiles: _Optional[_Iterable[str]] = ...) -> None: ...

class CheckReachabilityResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[Reachability]
    def __init__(self, results: _Optional[_Iterable[_Union[Reachability, _Mapping]]] = ...) -> None: ...

class Reachability(_message.Message):
    __slots__ = ("profile", "reachable", "reason", "suppression")
    class Reason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        REASON_UNSPECIFIED: _ClassVar[Reachability.Reason]
        REASON_NOT_FOUND: _ClassVar[Reachability.Reason]
        REASON_NO_ADDRESS: _ClassVar[Reachability.Reason]
        REASON_NO_CONSENT: _ClassVar[Reachability.Reason]
        REASON_SUPPRESSED: _ClassVar[Reachability.Reason]
    REASON_UNSPECIFIED: Reachability.Reason
    REASON_NOT_FOUND: Reachability.Reason
    REASON_NO_ADDRESS: Reachability.Reason
    REASON_NO_CONSENT: Reachability.Reason
    REASON_SUPPRESSED: Reachability.Reason
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    REACHABLE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSION_FIELD_NUMBER: _ClassVar[int]
    profile: str
    reachable: bool
    reason: Reachability.Reason
    suppression: str
    def __init__(self, profile: _Optional[str] = ..., reachable: _Optional[bool] = ..., reason: _Optional[_Union[Reachability.Reason, str]] = ..., suppression: _Optional[str] = ...) -> None: ...

class CreateAttributeDefinitionRequest(_message.Message):
    __slots__ = ("parent", "attribute_definition", "attribute_definition_id", "validate_only", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTE_DEFINITION_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTE_DEFINITION_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    attribute_definition: _profile_pb2.AttributeDefinition
    attribute_definition_id: str
    validate_only: bool
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., attribute_definition: _Optional[_Union[_profile_pb2.AttributeDefinition, _Mapping]] = ..., attribute_definition_id: _Optional[str] = ..., validate_only: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetAttributeDefinitionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListAttributeDefinitionsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "filter")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    filter: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ...) -> None: ...

class ListAttributeDefinitionsResponse(_message.Message):
    __slots__ = ("attribute_definitions", "next_page_token")
    ATTRIBUTE_DEFINITIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    attribute_definitions: _containers.RepeatedCompositeFieldContainer[_profile_pb2.AttributeDefinition]
    next_page_token: str
    def __init__(self, attribute_definitions: _Optional[_Iterable[_Union[_profile_pb2.AttributeDefinition, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateAttributeDefinitionRequest(_message.Message):
    __slots__ = ("attribute_definition", "update_mask")
    ATTRIBUTE_DEFINITION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    attribute_definition: _profile_pb2.AttributeDefinition
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, attribute_definition: _Optional[_Union[_profile_pb2.AttributeDefinition, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeleteAttributeDefinitionRequest(_message.Message):
    __slots__ = ("name", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class CreateSegmentRequest(_message.Message):
    __slots__ = ("parent", "segment", "segment_id", "request_id", "validate_only")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    parent: str
    segment: _segment_pb2.Segment
    segment_id: str
    request_id: str
    validate_only: bool
    def __init__(self, parent: _Optional[str] = ..., segment: _Optional[_Union[_segment_pb2.Segment, _Mapping]] = ..., segment_id: _Optional[str] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class GetSegmentRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListSegmentsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "filter")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    filter: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ...) -> None: ...

class ListSegmentsResponse(_message.Message):
    __slots__ = ("segments", "next_page_token", "total_size")
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    segments: _containers.RepeatedCompositeFieldContainer[_segment_pb2.Segment]
    next_page_token: str
    total_size: int
    def __init__(self, segments: _Optional[_Iterable[_Union[_segment_pb2.Segment, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class UpdateSegmentRequest(_message.Message):
    __slots__ = ("segment", "update_mask", "validate_only")
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    segment: _segment_pb2.Segment
    update_mask: _field_mask_pb2.FieldMask
    validate_only: bool
    def __init__(self, segment: _Optional[_Union[_segment_pb2.Segment, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class DeleteSegmentRequest(_message.Message):
    __slots__ = ("name", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class RefreshSegmentRequest(_message.Message):
    __slots__ = ("name", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class CountSegmentMembersRequest(_message.Message):
    __slots__ = ("segment", "channel")
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    segment: str
    channel: _channel_pb2.Channel
    def __init__(self, segment: _Optional[str] = ..., channel: _Optional[_Union[_channel_pb2.Channel, str]] = ...) -> None: ...

class CountSegmentMembersResponse(_message.Message):
    __slots__ = ("count", "count_time")
    COUNT_FIELD_NUMBER: _ClassVar[int]
    COUNT_TIME_FIELD_NUMBER: _ClassVar[int]
    count: int
    count_time: _timestamp_pb2.Timestamp
    def __init__(self, count: _Optional[int] = ..., count_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CheckSegmentMembershipRequest(_message.Message):
    __slots__ = ("segment", "profiles")
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    segment: str
    profiles: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, segment: _Optional[str] = ..., profiles: _Optional[_Iterable[str]] = ...) -> None: ...

class AddSegmentMembersRequest(_message.Message):
    __slots__ = ("segment", "profiles")
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    segment: str
    profiles: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, segment: _Optional[str] = ..., profiles: _Optional[_Iterable[str]] = ...) -> None: ...

class AddSegmentMembersResponse(_message.Message):
    __slots__ = ("added", "unchanged", "not_found")
    ADDED_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_FIELD_NUMBER: _ClassVar[int]
    NOT_FOUND_FIELD_NUMBER: _ClassVar[int]
    added: _containers.RepeatedScalarFieldContainer[str]
    unchanged: _containers.RepeatedScalarFieldContainer[str]
    not_found: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, added: _Optional[_Iterable[str]] = ..., unchanged: _Optional[_Iterable[str]] = ..., not_found: _Optional[_Iterable[str]] = ...) -> None: ...

class RemoveSegmentMembersRequest(_message.Message):
    __slots__ = ("segment", "profiles")
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    segment: str
    profiles: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, segment: _Optional[str] = ..., profiles: _Optional[_Iterable[str]] = ...) -> None: ...

class RemoveSegmentMembersResponse(_message.Message):
    __slots__ = ("removed", "unchanged", "not_found")
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_FIELD_NUMBER: _ClassVar[int]
    NOT_FOUND_FIELD_NUMBER: _ClassVar[int]
    removed: _containers.RepeatedScalarFieldContainer[str]
    unchanged: _containers.RepeatedScalarFieldContainer[str]
    not_found: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, removed: _Optional[_Iterable[str]] = ..., unchanged: _Optional[_Iterable[str]] = ..., not_found: _Optional[_Iterable[str]] = ...) -> None: ...

class CheckSegmentMembershipResponse(_message.Message):
    __slots__ = ("memberships",)
    MEMBERSHIPS_FIELD_NUMBER: _ClassVar[int]
    memberships: _containers.RepeatedCompositeFieldContainer[Membership]
    def __init__(self, memberships: _Optional[_Iterable[_Union[Membership, _Mapping]]] = ...) -> None: ...

class Membership(_message.Message):
    __slots__ = ("profile", "member", "join_time")
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    JOIN_TIME_FIELD_NUMBER: _ClassVar[int]
    profile: str
    member: bool
    join_time: _timestamp_pb2.Timestamp
    def __init__(self, profile: _Optional[str] = ..., member: _Optional[bool] = ..., join_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListSegmentMembersRequest(_message.Message):
    __slots__ = ("parent", "channel", "view", "page_size", "page_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    channel: _channel_pb2.Channel
    view: _segment_pb2.MemberView
    page_size: int
    page_token: str
    def __init__(self, parent: _Optional[str] = ..., channel: _Optional[_Union[_channel_pb2.Channel, str]] = ..., view: _Optional[_Union[_segment_pb2.MemberView, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSegmentMembersResponse(_message.Message):
    __slots__ = ("members", "next_page_token")
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    members: _containers.RepeatedCompositeFieldContainer[_segment_pb2.SegmentMember]
    next_page_token: str
    def __init__(self, members: _Optional[_Iterable[_Union[_segment_pb2.SegmentMember, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class StreamSegmentMembersRequest(_message.Message):
    __slots__ = ("parent", "channel", "view", "batch_size", "resume_token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    RESUME_TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    channel: _channel_pb2.Channel
    view: _segment_pb2.MemberView
    batch_size: int
    resume_token: str
    def __init__(self, parent: _Optional[str] = ..., channel: _Optional[_Union[_channel_pb2.Channel, str]] = ..., view: _Optional[_Union[_segment_pb2.MemberView, str]] = ..., batch_size: _Optional[int] = ..., resume_token: _Optional[str] = ...) -> None: ...

class StreamSegmentMembersResponse(_message.Message):
    __slots__ = ("members", "resume_token")
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    RESUME_TOKEN_FIELD_NUMBER: _ClassVar[int]
    members: _containers.RepeatedCompositeFieldContainer[_segment_pb2.SegmentMember]
    resume_token: str
    def __init__(self, members: _Optional[_Iterable[_Union[_segment_pb2.SegmentMember, _Mapping]]] = ..., resume_token: _Optional[str] = ...) -> None: ...

class CreateSegmentSnapshotRequest(_message.Message):
    __slots__ = ("parent", "segment_snapshot", "segment_snapshot_id", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_SNAPSHOT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    segment_snapshot: _segment_pb2.SegmentSnapshot
    segment_snapshot_id: str
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., segment_snapshot: _Optional[_Union[_segment_pb2.SegmentSnapshot, _Mapping]] = ..., segment_snapshot_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetSegmentSnapshotRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListSegmentSnapshotsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "filter")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    filter: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ...) -> None: ...

class ListSegmentSnapshotsResponse(_message.Message):
    __slots__ = ("segment_snapshots", "next_page_token")
    SEGMENT_SNAPSHOTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    segment_snapshots: _containers.RepeatedCompositeFieldContainer[_segment_pb2.SegmentSnapshot]
    next_page_token: str
    def __init__(self, segment_snapshots: _Optional[_Iterable[_Union[_segment_pb2.SegmentSnapshot, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteSegmentSnapshotRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class CreateLookalikeRequest(_message.Message):
    __slots__ = ("parent", "lookalike", "lookalike_id", "request_id", "validate_only")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    LOOKALIKE_FIELD_NUMBER: _ClassVar[int]
    LOOKALIKE_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    parent: str
    lookalike: _segment_pb2.Lookalike
    lookalike_id: str
    request_id: str
    validate_only: bool
    def __init__(self, parent: _Optional[str] = ..., lookalike: _Optional[_Union[_segment_pb2.Lookalike, _Mapping]] = ..., lookalike_id: _Optional[str] = ..., request_id: _Optional[str] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class GetLookalikeRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListLookalikesRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "filter")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    filter: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ...) -> None: ...

class ListLookalikesResponse(_message.Message):
    __slots__ = ("lookalikes", "next_page_token")
    LOOKALIKES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    lookalikes: _containers.RepeatedCompositeFieldContainer[_segment_pb2.Lookalike]
    next_page_token: str
    def __init__(self, lookalikes: _Optional[_Iterable[_Union[_segment_pb2.Lookalike, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateLookalikeRequest(_message.Message):
    __slots__ = ("lookalike", "update_mask")
    LOOKALIKE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    lookalike: _segment_pb2.Lookalike
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, lookalike: _Optional[_Union[_segment_pb2.Lookalike, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeleteLookalikeRequest(_message.Message):
    __slots__ = ("name", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class RefitLookalikeRequest(_message.Message):
    __slots__ = ("name", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class CreateSuppressionRequest(_message.Message):
    __slots__ = ("parent", "suppression", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    suppression: _suppression_pb2.Suppression
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., suppression: _Optional[_Union[_suppression_pb2.Suppression, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetSuppressionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListSuppressionsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "filter")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    filter: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ...) -> None: ...

class ListSuppressionsResponse(_message.Message):
    __slots__ = ("suppressions", "next_page_token")
    SUPPRESSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    suppressions: _containers.RepeatedCompositeFieldContainer[_suppression_pb2.Suppression]
    next_page_token: str
    def __init__(self, suppressions: _Optional[_Iterable[_Union[_suppression_pb2.Suppression, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateSuppressionRequest(_message.Message):
    __slots__ = ("suppression", "update_mask")
    SUPPRESSION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    suppression: _suppression_pb2.Suppression
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, suppression: _Optional[_Union[_suppression_pb2.Suppression, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeleteSuppressionRequest(_message.Message):
    __slots__ = ("name", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class ImportSuppressionsRequest(_message.Message):
    __slots__ = ("parent", "records", "validate_only")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    parent: str
    records: _containers.RepeatedCompositeFieldContainer[SuppressionRecord]
    validate_only: bool
    def __init__(self, parent: _Optional[str] = ..., records: _Optional[_Iterable[_Union[SuppressionRecord, _Mapping]]] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class SuppressionRecord(_message.Message):
    __slots__ = ("line", "suppression")
    LINE_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSION_FIELD_NUMBER: _ClassVar[int]
    line: int
    suppression: _suppression_pb2.Suppression
    def __init__(self, line: _Optional[int] = ..., suppression: _Optional[_Union[_suppression_pb2.Suppression, _Mapping]] = ...) -> None: ...

class ImportSuppressionsResponse(_message.Message):
    __slots__ = ("received", "inserted", "updated", "rejected", "rejections")
    RECEIVED_FIELD_NUMBER: _ClassVar[int]
    INSERTED_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    received: int
    inserted: int
    updated: int
    rejected: int
    rejections: _containers.RepeatedCompositeFieldContainer[RejectedRecord]
    def __init__(self, received: _Optional[int] = ..., inserted: _Optional[int] = ..., updated: _Optional[int] = ..., rejected: _Optional[int] = ..., rejections: _Optional[_Iterable[_Union[RejectedRecord, _Mapping]]] = ...) -> None: ...

class ExportSuppressionsRequest(_message.Message):
    __slots__ = ("parent", "filter", "batch_size")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    parent: str
    filter: str
    batch_size: int
    def __init__(self, parent: _Optional[str] = ..., filter: _Optional[str] = ..., batch_size: _Optional[int] = ...) -> None: ...

class ExportSuppressionsResponse(_message.Message):
    __slots__ = ("suppressions",)
    SUPPRESSIONS_FIELD_NUMBER: _ClassVar[int]
    suppressions: _containers.RepeatedCompositeFieldContainer[_suppression_pb2.Suppression]
    def __init__(self, suppressions: _Optional[_Iterable[_Union[_suppression_pb2.Suppression, _Mapping]]] = ...) -> None: ...

class GetUnsubscribePageRequest(_message.Message):
    __slots__ = ("parent", "token")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    parent: str
    token: str
    def __init__(self, parent: _Optional[str] = ..., token: _Optional[str] = ...) -> None: ...

class UnsubscribeRequest(_message.Message):
    __slots__ = ("parent", "token", "http_body")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    HTTP_BODY_FIELD_NUMBER: _ClassVar[int]
    parent: str
    token: str
    http_body: _httpbody_pb2.HttpBody
    def __init__(self, parent: _Optional[str] = ..., token: _Optional[str] = ..., http_body: _Optional[_Union[_httpbody_pb2.HttpBody, _Mapping]] = ...) -> None: ...
