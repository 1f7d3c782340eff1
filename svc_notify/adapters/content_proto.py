"""marketing.common.v1.RenderedContent to and from the domain's content values
(the API and the content service's answers speak the proto)."""

from __future__ import annotations

from marketing.common.v1 import message_content_pb2 as pb

from svc_notify.domain.model import Content, EmailContent, InAppContent, PushContent, SmsContent


def in_app_from_proto(c: pb.RenderedInApp) -> InAppContent:
    return InAppContent(c.title, c.body, c.image_url, tuple((a.label, a.url) for a in c.actions), dict(c.data))


def content_from_proto(rendered: pb.RenderedContent) -> Content | None:
    kind = rendered.WhichOneof("content")
    if kind == "email":
        e = rendered.email
        return EmailContent(e.subject, e.preheader, e.html, e.text, e.from_name, e.from_address, e.reply_to,
                            tuple((h.name, h.value) for h in e.headers))
    if kind == "sms":
        return SmsContent(rendered.sms.body)
    if kind == "push":
        p = rendered.push
        return PushContent(p.title, p.body, dict(p.data), p.image_url, p.deep_link)
    if kind == "in_app":
        return in_app_from_proto(rendered.in_app)
    return None


def in_app_to_proto(c: InAppContent) -> pb.RenderedInApp:
    return pb.RenderedInApp(title=c.title, body=c.body, image_url=c.image_url,
                            actions=[pb.InAppAction(label=label, url=url) for label, url in c.actions], data=c.data)


def content_to_proto(content: Content | None) -> pb.RenderedContent | None:
    if content is None:
        return None
    if isinstance(content, EmailContent):
        return pb.RenderedContent(email=pb.RenderedEmail(
            subject=content.subject, preheader=content.preheader, html=content.html, text=content.text,
            from_name=content.from_name, from_address=content.from_address, reply_to=content.reply_to,
            headers=[pb.EmailHeader(name=n, value=v) for n, v in content.headers]))
    if isinstance(content, SmsContent):
        return pb.RenderedContent(sms=pb.RenderedSms(body=content.body))
    if isinstance(content, PushContent):
        return pb.RenderedContent(push=pb.RenderedPush(title=content.title, body=content.body, data=content.data,
                                                       image_url=content.image_url, deep_link=content.deep_link))
    return pb.RenderedContent(in_app=in_app_to_proto(content))
