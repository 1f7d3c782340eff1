from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from marketing.analytics.v1 import campaign_report_pb2 as _campaign_report_pb2
from marketing.campaign.v1 import campaign_pb2 as _campaign_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CampaignStats(_message.Message):
    __slots__ = ("name", "campaign", "report", "reporting_degraded", "degraded_reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    REPORTING_DEGRADED_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    campaign: _campaign_pb2.Campaign
    report: _campaign_report_pb2.CampaignReport
    reporting_degraded: bool
    degraded_reason: str
    def __init__(self, name: _Optional[str] = ..., campaign: _Optional[_Union[_campaign_pb2.Campaign, _Mapping]] = ..., report: _Optional[_Union[_campaign_report_pb2.CampaignReport, _Mapping]] = ..., reporting_degraded: _Optional[bool] = ..., degraded_reason: _Optional[str] = ...) -> None: ...
