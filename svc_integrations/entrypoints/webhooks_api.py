"""The webhook RPCs of IntegrationsService (a mixin of IntegrationsServicer): protobuf in and
out, the use cases in service_layer/webhooks.py. The signing secret leaves only in the answers of
CreateWebhook and RotateWebhookSecret."""

from __future__ import annotations

from google.protobuf import empty_pb2, json_format, timestamp_pb2

from marketing.integrations.v1 import integrations_service_pb2 as pb, webhook_pb2
from svc_kit.errors import FieldViolation, InvalidArgument
from svc_kit.executor import run_blocking
from svc_kit.pagination import fingerprint, timed_keyset_page

from svc_integrations.entrypoints import list_filters
from svc_integrations.domain.webhooks import Delivery, Webhook
from svc_integrations.service_layer.webhook_delivery import send_checked
from svc_integrations.service_layer.webhooks import Resolver, Sender, WebhookChange, Webhooks

_STATES = {"ACTIVE": webhook_pb2.Webhook.STATE_ACTIVE, "PAUSED": webhook_pb2.Webhook.STATE_PAUSED,
           "FAILING": webhook_pb2.Webhook.STATE_FAILING}
_DELIVERY_STATES = {"PENDING": webhook_pb2.WebhookDelivery.STATE_PENDING,
                    "SUCCEEDED": webhook_pb2.WebhookDelivery.STATE_SUCCEEDED,
                    "FAILED": webhook_pb2.WebhookDelivery.STATE_FAILED}


def _timestamp(value) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def webhook_to_proto(hook: Webhook, with_secret: bool = False) -> webhook_pb2.Webhook:
    return webhook_pb2.Webhook(
        name=hook.name, display_name=hook.display_name, uri=hook.uri, event_types=list(hook.event_types),
        signing_secret=hook.secret if with_secret else "", headers=hook.headers, state=_STATES[hook.state],
        state_message=hook.state_message, consecutive_failures=hook.consecutive_failures,
        last_success_time=_timestamp(hook.last_success_time), labels=hook.labels,
        create_time=_timestamp(hook.create_time), update_time=_timestamp(hook.update_time), etag=hook.etag)


def delivery_to_proto(delivery: Delivery) -> webhook_pb2.WebhookDelivery:
    return webhook_pb2.WebhookDelivery(
        name=delivery.name, event_id=delivery.event_id, event_type=delivery.event_type,
        state=_DELIVERY_STATES[delivery.state], attempt_count=delivery.attempt_count,
        response_code=delivery.response_code, error=delivery.error, latency_ms=delivery.latency_ms,
        create_time=_timestamp(delivery.create_time), last_attempt_time=_timestamp(delivery.last_attempt_time),
        next_attempt_time=_timestamp(delivery.next_attempt_time) if delivery.state == "PENDING" else None)


def _change(message: webhook_pb2.Webhook) -> WebhookChange:
    return WebhookChange(display_name=message.display_name, uri=message.uri, event_types=tuple(message.event_types),
                         signing_secret=message.signing_secret, headers=dict(message.headers),
                         labels=dict(message.labels))


class WebhooksApi:
    """Needs `self.webhooks` (Webhooks), `self.webhook_sender`, `self.webhook_resolver`,
    `self.webhook_mode` and `self.executor`, set by IntegrationsServicer."""

    webhooks: Webhooks | None
    webhook_sender: Sender | None
    webhook_resolver: Resolver | None
    webhook_mode: str

    async def CreateWebhook(self, request: pb.CreateWebhookRequest, context) -> webhook_pb2.Webhook:
        hook = await run_blocking(self.executor, self.webhooks.create, request.parent, _change(request.webhook),
                                  request.webhook_id, request.request_id, request.validate_only)
        return webhook_to_proto(hook, with_secret=True)

    async def GetWebhook(self, request: pb.GetWebhookRequest, context) -> webhook_pb2.Webhook:
        return webhook_to_proto(await run_blocking(self.executor, self.webhooks.get, request.name))

    async def ListWebhooks(self, request: pb.ListWebhooksRequest, context) -> pb.ListWebhooksResponse:
        def page():
            fetch = list_filters.filtered_fetch(
                request.filter, list_filters.WEBHOOKS,
                lambda after, limit: self.webhooks.list(request.parent, after, limit), list_filters.position)
            return timed_keyset_page(fetch, list_filters.position, request.page_size, request.page_token,
                                     fingerprint("webhooks", request.parent, request.filter))

        hooks, token = await run_blocking(self.executor, page)
        return pb.ListWebhooksResponse(webhooks=[webhook_to_proto(h) for h in hooks], next_page_token=token)

    async def UpdateWebhook(self, request: pb.UpdateWebhookRequest, context) -> webhook_pb2.Webhook:
        if "signing_secret" in request.update_mask.paths:
            raise InvalidArgument(FieldViolation("update_mask", "the secret changes through RotateWebhookSecret"))
        hook = await run_blocking(self.executor, self.webhooks.update, request.webhook.name,
                                  _change(request.webhook), list(request.update_mask.paths), request.webhook.etag)
        return webhook_to_proto(hook)

    async def DeleteWebhook(self, request: pb.DeleteWebhookRequest, context) -> empty_pb2.Empty:
        await run_blocking(self.executor, self.webhooks.delete, request.name, request.etag)
        return empty_pb2.Empty()

    async def PauseWebhook(self, request: pb.PauseWebhookRequest, context) -> webhook_pb2.Webhook:
        return webhook_to_proto(await run_blocking(self.executor, self.webhooks.pause, request.name, request.etag))

    async def ResumeWebhook(self, request: pb.ResumeWebhookRequest, context) -> webhook_pb2.Webhook:
        return webhook_to_proto(await run_blocking(self.executor, self.webhooks.resume, request.name,
                                                   request.etag))

    async def RotateWebhookSecret(self, request: pb.RotateWebhookSecretRequest, context) -> webhook_pb2.Webhook:
        hook = await run_blocking(self.executor, self.webhooks.rotate_secret, request.name, request.signing_secret,
                                  request.etag)
        return webhook_to_proto(hook, with_secret=True)

    async def TestWebhook(self, request: pb.TestWebhookRequest, context) -> webhook_pb2.WebhookDelivery:
        hook, delivery = await run_blocking(self.executor, self.webhooks.test_delivery, request.name)
        attempt = await send_checked(hook, delivery, self.webhook_sender, self.webhook_resolver, self.webhook_mode,
                                     self.webhooks.clock())
        done = await run_blocking(self.executor, self.webhooks.record_test, delivery, attempt)
        return delivery_to_proto(done)

    async def ListWebhookDeliveries(self, request: pb.ListWebhookDeliveriesRequest,
                                    context) -> pb.ListWebhookDeliveriesResponse:
        def page():
            fetch = list_filters.filtered_fetch(
                request.filter, list_filters.DELIVERIES,
                lambda after, limit: self.webhooks.list_deliveries(request.parent, after, limit), list_filters.position)
            return timed_keyset_page(fetch, list_filters.position, request.page_size, request.page_token,
                                     fingerprint("webhookDeliveries", request.parent, request.filter))

        deliveries, token = await run_blocking(self.executor, page)
        return pb.ListWebhookDeliveriesResponse(webhook_deliveries=[delivery_to_proto(d) for d in deliveries],
                                                next_page_token=token)

    async def GetWebhookDelivery(self, request: pb.GetWebhookDeliveryRequest,
                                 context) -> webhook_pb2.WebhookDelivery:
        return delivery_to_proto(await run_blocking(self.executor, self.webhooks.get_delivery, request.name))

    async def ReplayWebhookDelivery(self, request: pb.ReplayWebhookDeliveryRequest,
                                    context) -> webhook_pb2.WebhookDelivery:
        return delivery_to_proto(await run_blocking(self.executor, self.webhooks.replay, request.name))

    async def DeliverWebhookEvent(self, request: pb.DeliverWebhookEventRequest,
                                  context) -> webhook_pb2.WebhookDelivery:
        data = _integral(json_format.MessageToDict(request.data)) if request.HasField("data") else {}
        delivery = await run_blocking(self.executor, self.webhooks.deliver_event, request.webhook, request.event_type,
                                      data, request.idempotency_key, request.validate_only)
        return delivery_to_proto(delivery)


def _integral(value):
    """A Struct's numbers are doubles: whole ones go out as integers (`"version": 2`, not `2.0`)."""
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 53:
        return int(value)
    return value
