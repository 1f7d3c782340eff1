"""CSV renderings, streamed as an iterator of lines (each ending in CRLF, as
RFC 4180 and the csv module write them): a campaign report (a header, then one
row for the totals and one per channel, variant and provider, with every
metric) and a list of events."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from decimal import Decimal

from svc_analytics.domain.model import StoredEvent
from svc_analytics.domain.report import CampaignReport, Metrics
from svc_analytics.service_layer.ports import EventQuery, EventStore
from svc_analytics.service_layer.reports import campaign_report

COUNTS = ("sent", "delivered", "bounced", "failed", "suppressed", "opened", "clicked", "converted", "unsubscribed",
          "complained", "total_opens", "total_clicks", "machine_opens", "machine_clicks")
RATES = ("delivery_rate", "bounce_rate", "open_rate", "click_rate", "click_to_open_rate", "conversion_rate",
         "unsubscribe_rate", "complaint_rate")
MONEY = ("revenue", "spend", "cost_per_conversion")
REPORT_HEADER = ("scope", "channel", "variant", "provider", *COUNTS, *RATES, *MONEY)

EVENT_HEADER = ("event_id", "type", "event_time", "receive_time", "profile", "campaign", "channel", "message",
                "variant", "provider", "machine", "attributed", "value", "source", "properties")


def _line(values: Iterable[object]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(values)
    return out.getvalue()


def money_text(micros: dict[str, int]) -> str:
    """`12.5 EUR; 3 USD`: each currency's amount in units, exact, sorted by currency."""
    parts = []
    for currency, amount in sorted(micros.items()):
        units = Decimal(amount).scaleb(-6)
        text = f"{units:f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        parts.append(f"{text} {currency}")
    return "; ".join(parts)


def _rate_text(value: float) -> str:
    return f"{value:.6f}"


def _metric_values(m: Metrics) -> list[object]:
    return ([getattr(m, name) for name in COUNTS] + [_rate_text(getattr(m, name)) for name in RATES]
            + [money_text(m.revenue_micros), money_text(m.spend_micros), money_text(m.cost_per_conversion_micros)])


def report_csv_lines(report: CampaignReport) -> Iterator[str]:
    yield _line(REPORT_HEADER)
    yield _line(["total", "", "", "", *_metric_values(report.totals)])
    for c in report.channels:
        yield _line(["channel", c.channel.value, "", "", *_metric_values(c.metrics)])
    for v in report.variants:
        yield _line(["variant", v.channel.value if v.channel else "", v.variant, "", *_metric_values(v.metrics)])
    for p in report.providers:
        yield _line(["provider", "", "", p.provider, *_metric_values(p.metrics)])


def _time_text(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def events_csv_lines(events: Iterable[StoredEvent]) -> Iterator[str]:
    yield _line(EVENT_HEADER)
    for e in events:
        yield _line([e.event_id, e.type, _time_text(e.event_time), _time_text(e.receive_time), e.profile, e.campaign,
                     e.channel.value if e.channel else "", e.message, e.variant, e.provider,
                     str(e.machine).lower(), str(e.attributed).lower(),
                     money_text({e.currency: e.value_micros}) if e.currency else "", e.source,
                     json.dumps(e.properties, sort_keys=True, separators=(",", ":")) if e.properties else ""])


def export_campaign_report(store: EventStore, workspace: str, campaign: str, clock: Callable[[], datetime],
                           **options) -> Iterator[str]:
    """The report (as campaign_report with the same options) as CSV lines. The report is computed
    before the first line is yielded, so NotFound and InvalidArgument come from the call itself."""
    return report_csv_lines(campaign_report(store, workspace, campaign, clock, **options))


def all_events(store: EventStore, query: EventQuery, page_size: int = 1000) -> Iterator[StoredEvent]:
    """Every event the query matches, newest first, read a page at a time."""
    after = None
    while True:
        page = store.list(query, page_size, after)
        yield from page
        if len(page) < page_size:
            return
        after = (page[-1].event_time, page[-1].event_id)


def export_events(store: EventStore, query: EventQuery, page_size: int = 1000) -> Iterator[str]:
    return events_csv_lines(all_events(store, query, page_size))
