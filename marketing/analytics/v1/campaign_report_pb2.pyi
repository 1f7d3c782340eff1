import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.type import interval_pb2 as _interval_pb2
from google.type import money_pb2 as _money_pb2
from marketing.common.v1 import channel_pb2 as _channel_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CampaignReport(_message.Message):
    __slots__ = ("name", "campaign", "totals", "channels", "variants", "interval", "attribution_window", "update_time", "providers", "goal_type", "comparisons")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    VARIANTS_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTION_WINDOW_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    PROVIDERS_FIELD_NUMBER: _ClassVar[int]
    GOAL_TYPE_FIELD_NUMBER: _ClassVar[int]
    COMPARISONS_FIELD_NUMBER: _ClassVar[int]
    name: str
    campaign: str
    totals: ReportMetrics
    channels: _containers.RepeatedCompositeFieldContainer[ChannelMetrics]
    variants: _containers.RepeatedCompositeFieldContainer[VariantMetrics]
    interval: _interval_pb2.Interval
    attribution_window: _duration_pb2.Duration
    update_time: _timestamp_pb2.Timestamp
    providers: _containers.RepeatedCompositeFieldContainer[ProviderMetrics]
    goal_type: str
    comparisons: _containers.RepeatedCompositeFieldContainer[VariantComparison]
    def __init__(self, name: _Optional[str] = ..., campaign: _Optional[str] = ..., totals: _Optional[_Union[ReportMetrics, _Mapping]] = ..., channels: _Optional[_Iterable[_Union[ChannelMetrics, _Mapping]]] = ..., variants: _Optional[_Iterable[_Union[VariantMetrics, _Mapping]]] = ..., interval: _Optional[_Union[_interval_pb2.Interval, _Mapping]] = ..., attribution_window: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., providers: _Optional[_Iterable[_Union[ProviderMetrics, _Mapping]]] = ..., goal_type: _Optional[str] = ..., comparisons: _Optional[_Iterable[_Union[VariantComparison, _Mapping]]] = ...) -> None: ...

class ReportMetrics(_message.Message):
    __slots__ = ("sent", "delivered", "bounced", "failed", "suppressed", "opened", "clicked", "converted", "unsubscribed", "complained", "revenue", "total_opens", "total_clicks", "machine_opens", "machine_clicks", "spend", "cost_per_conversion", "delivery_rate", "bounce_rate", "open_rate", "click_rate", "click_to_open_rate", "conversion_rate", "unsubscribe_rate", "complaint_rate")
    SENT_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_FIELD_NUMBER: _ClassVar[int]
    BOUNCED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    SUPPRESSED_FIELD_NUMBER: _ClassVar[int]
    OPENED_FIELD_NUMBER: _ClassVar[int]
    CLICKED_FIELD_NUMBER: _ClassVar[int]
    CONVERTED_FIELD_NUMBER: _ClassVar[int]
    UNSUBSCRIBED_FIELD_NUMBER: _ClassVar[int]
    COMPLAINED_FIELD_NUMBER: _ClassVar[int]
    REVENUE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_OPENS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_CLICKS_FIELD_NUMBER: _ClassVar[int]
    MACHINE_OPENS_FIELD_NUMBER: _ClassVar[int]
    MACHINE_CLICKS_FIELD_NUMBER: _ClassVar[int]
    SPEND_FIELD_NUMBER: _ClassVar[int]
    COST_PER_CONVERSION_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_RATE_FIELD_NUMBER: _ClassVar[int]
    BOUNCE_RATE_FIELD_NUMBER: _ClassVar[int]
    OPEN_RATE_FIELD_NUMBER: _ClassVar[int]
    CLICK_RATE_FIELD_NUMBER: _ClassVar[int]
    CLICK_TO_OPEN_RATE_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_RATE_FIELD_NUMBER: _ClassVar[int]
    UNSUBSCRIBE_RATE_FIELD_NUMBER: _ClassVar[int]
    COMPLAINT_RATE_FIELD_NUMBER: _ClassVar[int]
    sent: int
    delivered: int
    bounced: int
    failed: int
    suppressed: int
    opened: int
    clicked: int
    converted: int
    unsubscribed: int
    complained: int
    revenue: _containers.RepeatedCompositeFieldContainer[_money_pb2.Money]
    total_opens: int
    total_clicks: int
    machine_opens: int
    machine_clicks: int
    spend: _containers.RepeatedCompositeFieldContainer[_money_pb2.Money]
    cost_per_conversion: _containers.RepeatedCompositeFieldContainer[_money_pb2.Money]
    delivery_rate: float
    bounce_rate: float
    open_rate: float
    click_rate: float
    click_to_open_rate: float
    conversion_rate: float
    unsubscribe_rate: float
    complaint_rate: float
    def __init__(self, sent: _Optional[int] = ..., delivered: _Optional[int] = ..., bounced: _Optional[int] = ..., failed: _Optional[int] = ..., suppressed: _Optional[int] = ..., opened: _Optional[int] = ..., clicked: _Optional[int] = ..., converted: _Optional[int] = ..., unsubscribed: _Optional[int] = ..., complained: _Optional[int] = ..., revenue: _Optional[_Iterable[_Union[_money_pb2.Money, _Mapping]]] = ..., total_opens: _Optional[int] = ..., total_clicks: _Optional[int] = ..., machine_opens: _Optional[int] = ..., machine_clicks: _Optional[int] = ..., spend: _Optional[_Iterable[_Union[_money_pb2.Money, _Mapping]]] = ..., cost_per_conversion: _Optional[_Iterable[_Union[_money_pb2.Money, _Mapping]]] = ..., delivery_rate: _Optional[float] = ..., bounce_rate: _Optional[float] = ..., open_rate: _Optional[float] = ..., click_rate: _Optional[float] = ..., click_to_open_rate: _Optional[float] = ..., conversion_rate: _Optional[float] = ..., unsubscribe_rate: _Optional[float] = ..., complaint_rate: _Optional[float] = ...) -> None: ...

class ChannelMetrics(_message.Message):
    __slots__ = ("channel", "metrics")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    channel: _channel_pb2.Channel
    metrics: ReportMetrics
    def __init__(self, channel: _Optional[_Union[_channel_pb2.Channel, str]] = ..., metrics: _Optional[_Union[ReportMetrics, _Mapping]] = ...) -> None: ...

class VariantMetrics(_message.Message):
    __slots__ = ("channel", "variant", "metrics")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    channel: _channel_pb2.Channel
    variant: str
    metrics: ReportMetrics
    def __init__(self, channel: _Optional[_Union[_channel_pb2.Channel, str]] = ..., variant: _Optional[str] = ..., metrics: _Optional[_Union[ReportMetrics, _Mapping]] = ...) -> None: ...

class ProviderMetrics(_message.Message):
    __slots__ = ("provider", "metrics")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    provider: str
    metrics: ReportMetrics
    def __init__(self, provider: _Optional[str] = ..., metrics: _Optional[_Union[ReportMetrics, _Mapping]] = ...) -> None: ...

class VariantComparison(_message.Message):
    __slots__ = ("channel", "variant", "control", "metric", "rate", "control_rate", "difference", "p_value", "significant", "enough_sample", "note")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    CONTROL_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    CONTROL_RATE_FIELD_NUMBER: _ClassVar[int]
    DIFFERENCE_FIELD_NUMBER: _ClassVar[int]
    P_VALUE_FIELD_NUMBER: _ClassVar[int]
    SIGNIFICANT_FIELD_NUMBER: _ClassVar[int]
    ENOUGH_SAMPLE_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    channel: _channel_pb2.Channel
    variant: str
    control: str
    metric: str
    rate: float
    control_rate: float
    difference: float
    p_value: float
    significant: bool
    enough_sample: bool
    note: str
    def __init__(self, channel: _Optional[_Union[_channel_pb2.Channel, str]] = ..., variant: _Optional[str] = ..., control: _Optional[str] = ..., metric: _Optional[str] = ..., rate: _Optional[float] = ..., control_rate: _Optional[float] = ..., difference: _Optional[float] = ..., p_value: _Optional[float] = ..., significant: _Optional[bool] = ..., enough_sample: _Optional[bool] = ..., note: _Optional[str] = ...) -> None: ...
