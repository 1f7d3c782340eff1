"""Template messages rendered through the content service, one call per
(template, campaign, variant). A permanent render error fails the message; a
passing one, or a failed call to the content service, defers it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from svc_notify.domain import events
from svc_notify.service_layer.dispatch.work import DispatchConfig, Settled, Work, deferred
from svc_notify.service_layer.ports import ContentRenderer, Rendered, RenderRequest, Unavailable


class Renderer:
    def __init__(self, content: ContentRenderer, config: DispatchConfig, clock: Callable[[], datetime]):
        self.content = content
        self.config = config
        self.clock = clock

    async def render(self, ready: list[Work], done: list[Settled]) -> list[Work]:
        """The messages ready to send, with their content; the others go to `done`."""
        groups: dict[tuple[str, str, str], list[Work]] = {}
        out = []
        for work in ready:
            if work.message.template is None:
                out.append(work)
            else:
                t = work.message.template
                groups.setdefault((t.template, work.message.campaign, t.variant), []).append(work)
        for (template, campaign, variant), members in groups.items():
            requests = [RenderRequest(w.message.recipient_name, w.message.name, w.message.template.data)
                        for w in members]
            try:
                results = await self.content.render(template, campaign, variant, requests)
            except Unavailable as error:
                done += [deferred(w.message, self.clock(), self.config.dependency_retry,
                                  f"waiting for the content service to render {template} ({error.code}): "
                                  f"{error.detail}; retrying") for w in members]
                continue
            for work, result in zip(members, results, strict=True):
                if self._apply(work, result, template, done):
                    out.append(work)
        return out

    def _apply(self, work: Work, result: Rendered, template: str, done: list[Settled]) -> bool:
        now = self.clock()
        if result.content is None:
            if result.permanent:
                work.message.fail(f"cannot render {template}: {result.error}", now)
                done.append(Settled(work.message, events=[events.event(
                    events.FAILED, work.message, now, reason=work.message.state_reason)]))
            else:
                done.append(deferred(work.message, self.clock(), self.config.dependency_retry,
                                     f"rendering {template} failed for now: {result.error or 'no content'}; "
                                     "retrying"))
            return False
        work.content = result.content
        work.message.template_version = result.template_version
        work.message.variant = result.variant
        return True
