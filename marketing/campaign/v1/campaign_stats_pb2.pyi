from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from marketing.analytics.v1 import campaign_report_pb2 as _campaign_report_pb2
from google.type import money_pb2 as _money_pb2
from marketing.campaign.v1 import campaign_pb2 as _campaign_pb2
from marketing.common.v1 import channel_pb2 as _channel_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CampaignStats(_message.Message):
    __slots__ = ("name", "campaign", "report", "reporting_degraded", "degraded_reason", "spend", "pause_reason", "messages_known", "messages_final")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    REPORTING_DEGRADED_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_REASON_FIELD_NUMBER: _ClassVar[int]
    SPEND_FIELD_NUMBER: _ClassVar[int]
    PAUSE_REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_KNOWN_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FINAL_FIELD_NUMBER: _ClassVar[int]
    name: str
    campaign: _campaign_pb2.Campaign
    report: _campaign_report_pb2.CampaignReport
    reporting_degraded: bool
    degraded_reason: str
    spend: _containers.RepeatedCompositeFieldContainer[ChannelSpend]
    pause_reason: str
    messages_known: int
    messages_final: int
    def __init__(self, name: _Optional[str] = ..., campaign: _Optional[_Union[_campaign_pb2.Campaign, _Mapping]] = ..., report: _Optional[_Union[_campaign_report_pb2.CampaignReport, _Mapping]] = ..., reporting_degraded: _Optional[bool] = ..., degraded_reason: _Optional[str] = ..., spend: _Optional[_Iterable[_Union[ChannelSpend, _Mapping]]] = ..., pause_reason: _Optional[str] = ..., messages_known: _Optional[int] = ..., messages_final: _Optional[int] = ...) -> None: ...

class ChannelSpend(_message.Message):
    __slots__ = ("channel", "spent", "messages_sent")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    SPENT_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_SENT_FIELD_NUMBER: _ClassVar[int]
    channel: _channel_pb2.Channel
    spent: _money_pb2.Money
    messages_sent: int
    def __init__(self, channel: _Optional[_Union[_channel_pb2.Channel, str]] = ..., spent: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., messages_sent: _Optional[int] = ...) -> None: ...
