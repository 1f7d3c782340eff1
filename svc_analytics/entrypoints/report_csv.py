"""A campaign report as CSV (ExportCampaignReport, served as text/csv): one row for the totals,
then one per channel, variant and provider, each with every figure; money as `amount currency`
entries joined by `;`."""

from __future__ import annotations

import csv
import io

from svc_analytics.domain.report import CampaignReport, Metrics

COUNTS = ("sent", "delivered", "bounced", "failed", "suppressed", "opened", "clicked", "converted", "unsubscribed",
          "complained", "total_opens", "total_clicks", "machine_opens", "machine_clicks")
RATES = ("delivery_rate", "bounce_rate", "open_rate", "click_rate", "click_to_open_rate", "conversion_rate",
         "unsubscribe_rate", "complaint_rate")
MONEY = ("revenue_micros", "spend_micros", "cost_per_conversion_micros")
HEADER = ("scope", "channel", "variant", "provider", *COUNTS, *RATES, "revenue", "spend", "cost_per_conversion")


def _money(by_currency: dict[str, int]) -> str:
    return ";".join(f"{micros / 1_000_000:.2f} {currency}" for currency, micros in sorted(by_currency.items()))


def _row(scope: str, channel, variant: str, provider: str, m: Metrics) -> list[str]:
    return [scope, channel.value if channel is not None else "", variant, provider,
            *(str(getattr(m, name)) for name in COUNTS), *(f"{getattr(m, name):.6f}" for name in RATES),
            *(_money(getattr(m, name)) for name in MONEY)]


def report_csv(report: CampaignReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerow(_row("total", None, "", "", report.totals))
    for c in report.channels:
        writer.writerow(_row("channel", c.channel, "", "", c.metrics))
    for v in report.variants:
        writer.writerow(_row("variant", v.channel, v.variant, "", v.metrics))
    for p in report.providers:
        writer.writerow(_row("provider", None, "", p.provider, p.metrics))
    return out.getvalue()
