"""The notify service's gRPC API in-process (the real bootstrap on SQLite, the
dispatcher off): validation errors name their fields, etags and request ids,
update masks, keyset pages, workspace isolation, tracking with and without a
good token, signed provider callbacks; never a stack trace."""

from __future__ import annotations

import json
import time

import grpc
import pytest
from google.api import httpbody_pb2
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2
from google.type import timeofday_pb2
from grpc_status import rpc_status

from devstack.processes import free_port
from marketing.common.v1 import channel_pb2, message_content_pb2
from marketing.notify.v1 import (
    message_pb2,
    notify_service_pb2_grpc,
    notify_settings_pb2,
    provider_pb2,
)
from marketing.notify.v1 import notify_service_pb2 as pb
from svc_kit.channels import Channel
from svc_kit.config import load_settings
from svc_kit.link_tracking import TrackingClaims, sign_tracking
from svc_kit.server import ServiceServer
from svc_kit.services import BY_NAME
from svc_kit.signing import LinkClaims, callback_signature, sign
from svc_notify.bootstrap import mount

KEY = "k" * 40
WS = "workspaces/acme"


@pytest.fixture
async def stub(tmp_path):
    port = free_port()
    env = {"MKT_STATE_DIR": str(tmp_path), "MKT_NOTIFY_GRPC_PORT": str(port),
           "MKT_NOTIFY_METRICS_PORT": str(free_port()), "MKT_NOTIFY_DISPATCH": "false", "MKT_LINK_SIGNING_KEY": KEY,
           "MKT_SECRET_RELAY_PASSWORD": "hunter2", "MKT_NOTIFY_DEFAULT_SMTP": "127.0.0.1:1",
           "MKT_BUS_PATH": str(tmp_path / "bus.sqlite3")}
    server = ServiceServer(load_settings(BY_NAME["notify"], env), mount(load_settings(BY_NAME["notify"], env)))
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    yield notify_service_pb2_grpc.NotifyServiceStub(channel)
    await channel.close()
    await server.stop()


async def refused(call, code: grpc.StatusCode) -> tuple[str, list[str]]:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call
    assert error.value.code() == code, error.value.details()
    assert "Traceback" not in error.value.details()
    status = rpc_status.from_call(error.value)
    fields = []
    for detail in status.details if status else []:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields += [v.field for v in bad.field_violations]
    return error.value.details(), fields


def smtp_provider(**fields) -> provider_pb2.Provider:
    return provider_pb2.Provider(display_name="Relay", channel=channel_pb2.CHANNEL_EMAIL, smtp=provider_pb2.SmtpConfig(
        host="smtp.example.com", port=587, username="news", password_secret="relay-password",
        from_address="news@example.com"), **fields)


async def test_providers_crud(stub):
    _, fields = await refused(stub.CreateProvider(pb.CreateProviderRequest(parent=WS, provider=provider_pb2.Provider(
        channel=channel_pb2.CHANNEL_SMS, smtp=provider_pb2.SmtpConfig()))), grpc.StatusCode.INVALID_ARGUMENT)
    assert {"provider.display_name", "provider.smtp", "provider.smtp.host", "provider.smtp.from_address"} <= set(fields)
    await refused(stub.CreateProvider(pb.CreateProviderRequest(parent="nope", provider=smtp_provider())),
                  grpc.StatusCode.INVALID_ARGUMENT)
    created = await stub.CreateProvider(pb.CreateProviderRequest(parent=WS, provider=smtp_provider(), provider_id="relay",
                                                                 request_id="r1"))
    assert created.name == f"{WS}/providers/relay" and created.smtp.password_secret == "relay-password"
    assert "hunter2" not in str(created)
    again = await stub.CreateProvider(pb.CreateProviderRequest(parent=WS, provider=smtp_provider(), provider_id="relay",
                                                               request_id="r1"))
    assert again == created
    await refused(stub.CreateProvider(pb.CreateProviderRequest(parent=WS, provider=smtp_provider(priority=3),
                                                               provider_id="relay", request_id="r1")),
                  grpc.StatusCode.INVALID_ARGUMENT)
    await refused(stub.CreateProvider(pb.CreateProviderRequest(parent=WS, provider=smtp_provider(),
                                                               provider_id="relay")), grpc.StatusCode.ALREADY_EXISTS)
    second = await stub.CreateProvider(pb.CreateProviderRequest(parent=WS, provider=smtp_provider(priority=1)))
    page = await stub.ListProviders(pb.ListProvidersRequest(parent=WS, page_size=1))
    assert [p.name for p in page.providers] == [created.name] and page.next_page_token
    rest = await stub.ListProviders(pb.ListProvidersRequest(parent=WS, page_size=1, page_token=page.next_page_token))
    assert [p.name for p in rest.providers] == [second.name] and not rest.next_page_token
    assert (await stub.ListProviders(pb.ListProvidersRequest(parent=WS, filter="channel = CHANNEL_SMS"))).providers == []
    await refused(stub.ListProviders(pb.ListProvidersRequest(parent=WS, page_size=1, filter="disabled = false",
                                                             page_token=page.next_page_token)),
                  grpc.StatusCode.INVALID_ARGUMENT)
    change = provider_pb2.Provider(name=created.name, display_name="Renamed", etag="stale")
    mask = field_mask_pb2.FieldMask(paths=["display_name"])
    await refused(stub.UpdateProvider(pb.UpdateProviderRequest(provider=change, update_mask=mask)),
                  grpc.StatusCode.ABORTED)
    change.etag = created.etag
    updated = await stub.UpdateProvider(pb.UpdateProviderRequest(provider=change, update_mask=mask))
    assert updated.display_name == "Renamed" and updated.smtp.host == "smtp.example.com" and updated.etag != created.etag
    _, fields = await refused(stub.UpdateProvider(pb.UpdateProviderRequest(
        provider=provider_pb2.Provider(name=created.name, channel=channel_pb2.CHANNEL_SMS),
        update_mask=field_mask_pb2.FieldMask(paths=["channel"]))), grpc.StatusCode.INVALID_ARGUMENT)
    assert fields == ["provider.channel"]
    await refused(stub.GetProvider(pb.GetProviderRequest(name="workspaces/other/providers/relay")),
                  grpc.StatusCode.NOT_FOUND)
    await stub.DeleteProvider(pb.DeleteProviderRequest(name=created.name, etag=updated.etag))
    await refused(stub.GetProvider(pb.GetProviderRequest(name=created.name)), grpc.StatusCode.NOT_FOUND)
    await refused(stub.TestProvider(pb.TestProviderRequest(name=second.name, etag="stale")), grpc.StatusCode.ABORTED)


async def test_sending_rules(stub):
    name = f"{WS}/notifySettings"
    current = await stub.GetNotifySettings(pb.GetNotifySettingsRequest(name=name))
    assert current.name == name and not current.quiet_hours and current.etag
    rules = notify_settings_pb2.NotifySettings(
        name=name, default_time_zone="Mars/Olympus", etag=current.etag,
        quiet_hours=[notify_settings_pb2.QuietHours(start_time=timeofday_pb2.TimeOfDay(hours=21),
                                                    end_time=timeofday_pb2.TimeOfDay(hours=25))])
    mask = field_mask_pb2.FieldMask(paths=["quiet_hours", "default_time_zone"])
    _, fields = await refused(stub.UpdateNotifySettings(pb.UpdateNotifySettingsRequest(
        notify_settings=rules, update_mask=mask)), grpc.StatusCode.INVALID_ARGUMENT)
    assert fields == ["notify_settings.quiet_hours[0].end_time"]
    rules.quiet_hours[0].end_time.hours = 8
    _, fields = await refused(stub.UpdateNotifySettings(pb.UpdateNotifySettingsRequest(
        notify_settings=rules, update_mask=mask)), grpc.StatusCode.INVALID_ARGUMENT)
    assert fields == ["notify_settings.default_time_zone"]
    rules.default_time_zone = "Europe/Paris"
    saved = await stub.UpdateNotifySettings(pb.UpdateNotifySettingsRequest(notify_settings=rules, update_mask=mask))
    assert saved.quiet_hours[0].end_time.hours == 8 and saved.default_time_zone == "Europe/Paris"
    await refused(stub.UpdateNotifySettings(pb.UpdateNotifySettingsRequest(notify_settings=rules, update_mask=mask)),
                  grpc.StatusCode.ABORTED)
    await refused(stub.GetNotifySettings(pb.GetNotifySettingsRequest(name=f"{WS}/settings")),
                  grpc.StatusCode.INVALID_ARGUMENT)


def email(profile: str, key: str, **fields) -> message_pb2.Message:
    return message_pb2.Message(channel=channel_pb2.CHANNEL_EMAIL, recipient=f"{WS}/profiles/{profile}",
                               idempotency_key=key, content=message_content_pb2.RenderedContent(
                                   email=message_content_pb2.RenderedEmail(subject="Hi", text="Hello")), **fields)


async def test_messages(stub):
    _, fields = await refused(stub.SendMessage(pb.SendMessageRequest(parent=WS, message=message_pb2.Message(
        recipient="workspaces/other/profiles/u-1"))), grpc.StatusCode.INVALID_ARGUMENT)
    assert fields == ["message.recipient"]
    _, fields = await refused(stub.SendMessage(pb.SendMessageRequest(parent=WS, message=message_pb2.Message(
        recipient=f"{WS}/profiles/u-1"))), grpc.StatusCode.INVALID_ARGUMENT)
    assert set(fields) == {"message.channel", "message.idempotency_key", "message.source"}
    checked = await stub.SendMessage(pb.SendMessageRequest(parent=WS, message=email("u-1", "k0"), validate_only=True))
    assert checked.message.state == message_pb2.Message.STATE_QUEUED
    sent = [(await stub.SendMessage(pb.SendMessageRequest(parent=WS, message=email(f"u-{i}", f"k{i}")))).message
            for i in range(3)]
    again = await stub.SendMessage(pb.SendMessageRequest(parent=WS, message=email("u-9", "k1")))
    assert again.duplicate and again.message.name == sent[1].name
    listed = await stub.ListMessages(pb.ListMessagesRequest(parent=WS, page_size=2))
    assert [m.name for m in listed.messages] == [sent[2].name, sent[1].name]
    rest = await stub.ListMessages(pb.ListMessagesRequest(parent=WS, page_size=2, page_token=listed.next_page_token))
    assert [m.name for m in rest.messages] == [sent[0].name] and not rest.next_page_token
    by_key = await stub.ListMessages(pb.ListMessagesRequest(parent=WS, filter='idempotency_key = "k2"'))
    assert [m.name for m in by_key.messages] == [sent[2].name]
    await refused(stub.ListMessages(pb.ListMessagesRequest(parent=WS, filter="color = red")),
                  grpc.StatusCode.INVALID_ARGUMENT)
    assert (await stub.ListMessages(pb.ListMessagesRequest(parent="workspaces/other"))).messages == []
    cancelled = await stub.CancelMessage(pb.CancelMessageRequest(name=sent[0].name, etag=sent[0].etag))
    assert cancelled.state == message_pb2.Message.STATE_CANCELLED
    await refused(stub.CancelMessage(pb.CancelMessageRequest(name=sent[0].name)), grpc.StatusCode.FAILED_PRECONDITION)
    await refused(stub.CancelMessage(pb.CancelMessageRequest(name=sent[1].name, etag="x")), grpc.StatusCode.ABORTED)
    assert (await stub.ListDeliveries(pb.ListDeliveriesRequest(parent=f"{WS}/messages/-"))).deliveries == []
    await refused(stub.ListDeliveries(pb.ListDeliveriesRequest(parent=f"{WS}/messages/missing")),
                  grpc.StatusCode.NOT_FOUND)
    batch = await stub.BatchSendMessages(pb.BatchSendMessagesRequest(parent=WS, requests=[
        pb.SendMessageRequest(message=email("u-5", "b1")), pb.SendMessageRequest(parent="workspaces/other",
                                                                                  message=email("u-5", "b2")),
        pb.SendMessageRequest(message=email("u-5", "b1"))]))
    assert [(bool(r.message.name), r.duplicate, r.error.code) for r in batch.results] == [
        (True, False, 0), (False, False, 3), (True, True, 0)]
    assert batch.results[2].message.name == batch.results[0].message.name
    await refused(stub.BatchSendMessages(pb.BatchSendMessagesRequest(parent=WS, requests=[
        pb.SendMessageRequest(message=email("u", f"x{i}")) for i in range(1001)])), grpc.StatusCode.INVALID_ARGUMENT)


async def test_tracking_and_callbacks(stub):
    message = (await stub.SendMessage(pb.SendMessageRequest(parent=WS, message=email("u-1", "t1")))).message
    message_id = message.name.rsplit("/", 1)[1]
    opener = sign_tracking(KEY.encode(), TrackingClaims("acme", "u-1", "", message_id, "open"))
    await refused(stub.RecordEngagement(pb.RecordEngagementRequest(name=message.name, token=opener)),
                  grpc.StatusCode.INVALID_ARGUMENT)  # no type
    _, fields = await refused(stub.RecordEngagement(pb.RecordEngagementRequest(
        name=message.name, type=pb.RecordEngagementRequest.TYPE_OPEN, token="forged.token")),
        grpc.StatusCode.INVALID_ARGUMENT)
    assert fields == ["token"]
    await stub.RecordEngagement(pb.RecordEngagementRequest(name=message.name, type=pb.RecordEngagementRequest.TYPE_OPEN,
                                                           token=opener))
    _, fields = await refused(stub.TrackOpen(pb.TrackOpenRequest(name=message.name, token="bad")),
                              grpc.StatusCode.INVALID_ARGUMENT)  # a bad open token: 400, nothing recorded
    assert fields == ["token"]
    pixel = await stub.TrackOpen(pb.TrackOpenRequest(name=message.name, token=opener))
    assert pixel.content_type == "image/gif" and pixel.data.startswith(b"GIF89a")

    # An unsubscribe token binds no message nor destination: no click, no open, whatever the URL.
    plain = sign(KEY.encode(), LinkClaims("acme", "u-1", Channel.EMAIL))
    _, fields = await refused(stub.TrackClick(pb.TrackClickRequest(name=message.name, token=plain,
                                                                   url="https://example.com/a?b=1")),
                              grpc.StatusCode.INVALID_ARGUMENT)
    assert fields == ["token"]
    await refused(stub.TrackOpen(pb.TrackOpenRequest(name=message.name, token=plain)), grpc.StatusCode.INVALID_ARGUMENT)

    # A click token binds the message and the destination; the redirect goes only there.
    bound = sign_tracking(KEY.encode(), TrackingClaims("acme", "u-1", "", message_id, "click", "l1",
                                                       "https://shop.example.com/sale"))
    call = stub.TrackClick(pb.TrackClickRequest(name=message.name, token=bound))  # the url comes from the token
    body = await call
    assert dict(await call.initial_metadata())["x-redirect-location"] == "https://shop.example.com/sale"
    assert b"https://shop.example.com/sale" in body.data
    got = await stub.GetMessage(pb.GetMessageRequest(name=message.name))
    assert got.HasField("first_open_time") and got.HasField("first_click_time")
    _, fields = await refused(stub.TrackClick(pb.TrackClickRequest(name=message.name, token=bound,
                                                                   url="https://evil.example.com/")),
                              grpc.StatusCode.INVALID_ARGUMENT)
    assert fields == ["url"]
    other = (await stub.SendMessage(pb.SendMessageRequest(parent=WS, message=email("u-1", "t2")))).message
    _, fields = await refused(stub.TrackClick(pb.TrackClickRequest(name=other.name, token=bound)),
                              grpc.StatusCode.INVALID_ARGUMENT)  # issued for another message
    assert fields == ["token"]
    await refused(stub.TrackClick(pb.TrackClickRequest(name=f"{WS}/messages/nope", token=bound)),
                  grpc.StatusCode.INVALID_ARGUMENT)  # a message that does not exist: the token says no first
    await refused(stub.RecordEngagement(pb.RecordEngagementRequest(
        name=message.name, type=pb.RecordEngagementRequest.TYPE_OPEN, token=bound)), grpc.StatusCode.INVALID_ARGUMENT)
    script = sign_tracking(KEY.encode(), TrackingClaims("acme", "u-1", "", message_id, "click", "l2",
                                                        "javascript:alert(1)"))
    _, fields = await refused(stub.TrackClick(pb.TrackClickRequest(name=message.name, token=script)),
                              grpc.StatusCode.INVALID_ARGUMENT)  # even signed, only http(s) destinations
    assert fields == ["url"]

    provider = await stub.CreateProvider(pb.CreateProviderRequest(parent=WS, provider=smtp_provider(),
                                                                  provider_id="relay"))
    payload = json.dumps({"message": message.name, "type": "delivered"}).encode()

    def callback(name: str, data: bytes, *headers):
        return stub.ReceiveProviderCallback(pb.ReceiveProviderCallbackRequest(
            name=name, http_body=httpbody_pb2.HttpBody(content_type="application/json", data=data)),
            metadata=headers)

    _, fields = await refused(callback(provider.name, payload), grpc.StatusCode.INVALID_ARGUMENT)
    assert fields == ["x-notify-signature"]
    now = time.time()
    old = ("x-notify-signature", callback_signature("hunter2", provider.name, payload, now - 301))
    details, fields = await refused(callback(provider.name, payload, old), grpc.StatusCode.INVALID_ARGUMENT)
    assert fields == ["x-notify-signature"] and "stale" in details
    await callback(provider.name, payload, ("x-notify-signature", callback_signature("hunter2", provider.name,
                                                                                     payload, now)))
    unchanged = await stub.GetMessage(pb.GetMessageRequest(name=message.name))
    assert unchanged.state == message_pb2.Message.STATE_QUEUED  # not sent by that provider: nothing to apply
    default = f"{WS}/providers/default-smtp"
    details, _ = await refused(callback(default, payload, ("x-notify-signature", callback_signature(
        "hunter2", default, payload, now))), grpc.StatusCode.FAILED_PRECONDITION)  # no secret here: refused
    assert "default-smtp-callback" in details
    await refused(stub.GetInbox(pb.GetInboxRequest(name=f"{WS}/inboxes/bad name")), grpc.StatusCode.INVALID_ARGUMENT)
    inbox = await stub.GetInbox(pb.GetInboxRequest(name=f"{WS}/inboxes/u-1"))
    assert (inbox.unread_count, inbox.total_count, inbox.profile) == (0, 0, f"{WS}/profiles/u-1")
    await refused(stub.MarkInboxItemsRead(pb.MarkInboxItemsReadRequest(
        inbox=f"{WS}/inboxes/u-1", items=[f"{WS}/inboxes/u-2/items/x"])), grpc.StatusCode.INVALID_ARGUMENT)
    await refused(stub.DeleteInboxItem(pb.DeleteInboxItemRequest(name=f"{WS}/inboxes/u-1/items/x")),
                  grpc.StatusCode.NOT_FOUND)


async def test_a_providers_unit_cost_is_stored_changed_and_checked(stub):
    from google.type import money_pb2
    cost = money_pb2.Money(currency_code="EUR", units=0, nanos=1_500_000)
    created = await stub.CreateProvider(pb.CreateProviderRequest(parent=WS, provider=smtp_provider(unit_cost=cost),
                                                                 provider_id="priced"))
    assert created.unit_cost == cost
    assert (await stub.GetProvider(pb.GetProviderRequest(name=created.name))).unit_cost == cost
    change = provider_pb2.Provider(name=created.name, etag=created.etag,
                                   unit_cost=money_pb2.Money(currency_code="USD", units=1))
    updated = await stub.UpdateProvider(pb.UpdateProviderRequest(
        provider=change, update_mask=field_mask_pb2.FieldMask(paths=["unit_cost"])))
    assert (updated.unit_cost.currency_code, updated.unit_cost.units) == ("USD", 1)
    _, fields = await refused(stub.CreateProvider(pb.CreateProviderRequest(
        parent=WS, provider=smtp_provider(unit_cost=money_pb2.Money(currency_code="eur", units=-1)))),
        grpc.StatusCode.INVALID_ARGUMENT)
    assert set(fields) == {"provider.unit_cost", "provider.unit_cost.currency_code"}


async def test_a_campaign_s_messages_are_held_released_and_cancelled(stub):
    spring = f"{WS}/campaigns/spring"
    sent = [(await stub.SendMessage(pb.SendMessageRequest(parent=WS, message=email(
        f"u-{i}", f"spring/u-{i}/EMAIL/launch", campaign=spring)))).message for i in range(3)]
    held = await stub.HoldCampaignMessages(pb.HoldCampaignMessagesRequest(parent=WS, campaign=spring))
    assert (held.campaign, held.held) == (spring, True)
    released = await stub.ReleaseCampaignMessages(pb.ReleaseCampaignMessagesRequest(parent=WS, campaign=spring))
    assert not released.held
    done = await stub.CancelCampaignMessages(pb.CancelCampaignMessagesRequest(parent=WS, campaign=spring))
    assert (done.cancelled_count, done.handed_over_count) == (3, 0)
    again = await stub.CancelCampaignMessages(pb.CancelCampaignMessagesRequest(parent=WS, campaign=spring))
    assert (again.cancelled_count, again.handed_over_count) == (3, 0)
    for message in sent:
        assert (await stub.GetMessage(pb.GetMessageRequest(name=message.name))).state == (
            message_pb2.Message.STATE_CANCELLED)
    assert (await stub.ReleaseCampaignMessages(pb.ReleaseCampaignMessagesRequest(parent=WS, campaign=spring))).held
    _, fields = await refused(stub.CancelCampaignMessages(pb.CancelCampaignMessagesRequest(
        parent=WS, campaign="workspaces/other/campaigns/spring")), grpc.StatusCode.INVALID_ARGUMENT)
    assert fields == ["campaign"]
