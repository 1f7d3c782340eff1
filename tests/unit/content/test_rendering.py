"""Rendering: the compiled fast path gives exactly what python-liquid gives,
defaults and segments, limits at render time, variant assignment (distribution
on 10,000 ids, stable across calls and processes), the render service."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime

import pytest

from svc_kit.channels import Channel
from svc_kit.errors import FailedPrecondition, InvalidArgument

from svc_content.domain.model import Analysis, EmailContent, SmsContent, Variant
from svc_content.service_layer.handlers import RenderSource
from svc_content.service_layer.ports import AudienceDirectory, CampaignDirectory
from svc_content.service_layer.rendering import RenderCall, RenderRequest, RenderService, run_inline
from svc_content.templating.compiled import CompiledField, reference_render
from svc_content.templating.renderer import (BatchContext, CompiledTemplate, Recipient, profile_namespace,
                                             render_batch)
from svc_content.templating.variants import VariantPicker

CORPUS = [
    "Hello {{ profile.first_name | default: 'there' }}!",
    "{{ profile.email | upcase }} {{ profile.email.size }} {{ profile.attributes.tags.first }} {{ profile.attributes.tags | join: '/' }}",
    "{% if profile.attributes.tier == 'gold' %}gold{% elsif profile.attributes.tier %}{{ profile.attributes.tier }}{% else %}none{% endif %}",
    "{% unless profile.phone %}no phone{% endunless %}{{ profile.phone | default: '-' }}",
    "{% for item in data.items %}{{ forloop.index }}:{{ item.name | capitalize }}{% if forloop.last %}.{% else %}, {% endif %}{% endfor %}",
    "{% for item in data.items limit: 2 reversed %}{{ item.name }}{% else %}empty{% endfor %}",
    "{% for item in data.items %}{% if item.name == 'b' %}{% continue %}{% endif %}{% if item.name == 'c' %}{% break %}{% endif %}{{ item.name }}{% endfor %}",
    "{% case profile.locale %}{% when 'fr' %}Bonjour{% when 'de', 'at' %}Hallo{% else %}Hello{% endcase %} {{ campaign.name }}",
    "{% assign n = profile.attributes.points | plus: 10 %}{{ n }} {% capture c %}{{ profile.first_name }}-{{ n }}{% endcapture %}{{ c | size }}",
    "{% for i in (1..3) %}{% cycle 'a', 'b' %}{% increment k %}{% endfor %}{% decrement k %}",
    "{%- if segments contains 'vip' -%}  VIP  {%- endif -%} {{ segments | join: ',' }} {{ segments.size }}",
    "{{ data.price | times: 1.2 | round: 2 }} {{ data.flag }} {{ data.nothing }} {{ data.nested.deep.value }}",
    "{{ profile.attributes['tier'] }} {{ data.items[1].name }} {{ data.items.last.name }}",
    "{% liquid\nif profile.email\necho profile.email | downcase\nendif %}",
    "{% for item in data.items %}{% ifchanged %}{{ item.name }}{% endifchanged %}{% endfor %}",
    "{{ campaign.name | append: ' - ' | append: profile.external_id }} ünïcode ✓",
    "{% raw %}{{ not liquid }}{% endraw %}{% comment %}hidden{% endcomment %}{{ message.id }}",
    "{% for i in (1..4) %}<{% if i == 2 %}two{% continue %}{% endif %}{% unless i == 3 %}{{ i }}{% else %}3!{% break %}{% endunless %}>{% endfor %}",
    "{% if profile.attributes.tier %}{% if profile.attributes.points > 5 %}{{ profile.attributes.points }}{% elsif profile.email %}{{ profile.email }}{% endif %}{% endif %}",
    "{% tablerow item in data.items cols: 2 %}{{ item.name }}{% endtablerow %}",
]

NAMESPACES = [
    {"profile": profile_namespace("u-1", email="Ann@Example.com", locale="fr",
                                  attributes={"first_name": "ann", "tier": "gold", "points": 7, "tags": ["a", "b"]}),
     "campaign": {"id": "spring", "name": "Spring"}, "message": {"id": "m-1"}, "segments": ["vip", "buyers"],
     "data": {"items": [{"name": "a"}, {"name": "b"}, {"name": "c"}], "price": 10, "flag": True,
              "nested": {"deep": {"value": 3}}}},
    {"profile": profile_namespace("u-2", locale="de", attributes={"tier": "silver"}),
     "campaign": {"id": "spring", "name": "Spring"}, "message": {"id": ""}, "segments": [],
     "data": {"items": [], "price": 2.5}},
    {"profile": profile_namespace("u-3", phone="+33612345678"), "campaign": {}, "message": {}, "segments": [],
     "data": {}},
]


@pytest.mark.parametrize("source", CORPUS)
def test_the_compiled_renderer_gives_what_python_liquid_gives(source):
    compiled = CompiledField(source)
    for namespace in NAMESPACES:
        bound = compiled.bind({"campaign": namespace["campaign"]})
        expected = reference_render(source, namespace)
        assert bound.render(namespace) == expected
        assert bound.render(namespace) == expected  # the reused context leaves nothing behind


def test_values_that_are_the_same_for_the_whole_batch_are_rendered_once():
    compiled = CompiledField("<h1>{{ campaign.name | upcase }}</h1>{{ profile.email }}<p>{{ campaign.id }}</p>")
    bound = compiled.bind({"campaign": {"id": "c1", "name": "Spring"}})
    assert bound.ops[0] == "<h1>SPRING</h1>" and bound.ops[-1] == "<p>c1</p>"
    assert bound.render({"profile": {"email": "a@x"}, "campaign": {"id": "c1", "name": "Spring"}}) == \
        "<h1>SPRING</h1>a@x<p>c1</p>"


def _template(html: str, defaults=None, variants=(), channel=Channel.EMAIL, variables=()) -> CompiledTemplate:
    content = EmailContent(subject="s", html=html, compiled_html=html, compiled_text="t") if not variants else None
    return CompiledTemplate(channel, content, variants, defaults or {}, variables)


def _batch(**kw) -> BatchContext:
    return BatchContext(**{"workspace": "acme", "seed": "workspaces/acme/templates/t", "campaign": {},
                           "tracking": False, "links": None, **kw})


def test_template_defaults_fill_missing_values_and_say_so():
    template = _template("{{ profile.first_name }} from {{ profile.attributes.city }}",
                         {"profile.first_name": "there", "profile.attributes.city": "your city"})
    with_values = Recipient("u-1", profile_namespace("u-1", attributes={"first_name": "Ann", "city": "Lyon"}))
    without = Recipient("u-2", profile_namespace("u-2"))
    first, second = render_batch(template, [with_values, without], _batch())
    assert first.content.html == "Ann from Lyon" and first.warnings == []
    assert second.content.html == "there from your city"
    assert second.warnings == ["profile.attributes.city: missing, used the template default 'your city'",
                               "profile.first_name: missing, used the template default 'there'"]
    assert without.profile["first_name"] is None  # the caller's dictionaries are left alone


def test_dynamic_blocks_follow_segment_membership_and_attributes():
    template = _template('{% if segments contains "vip" %}VIP {% endif %}{% if profile.attributes.tier == "gold" %}'
                         'gold{% else %}regular{% endif %}')
    results = render_batch(template, [Recipient("a", profile_namespace("a", attributes={"tier": "gold"}), ["vip"]),
                                      Recipient("b", profile_namespace("b"), [])], _batch())
    assert [r.content.html for r in results] == ["VIP gold", "regular"]


def test_a_loop_over_recipient_data_is_stopped_with_a_clear_error_for_that_recipient_only():
    template = _template("x\n{% for i in data.items %}{% for j in data.items %}.{% endfor %}{% endfor %}")
    small = Recipient("a", profile_namespace("a"), data={"items": list(range(10))})
    huge = Recipient("b", profile_namespace("b"), data={"items": list(range(1000))})
    ok, stopped = render_batch(template, [small, huge], _batch())
    assert ok.content.html == "x\n" + "." * 100
    assert stopped.content is None and stopped.code == "INVALID_ARGUMENT"
    assert stopped.error == "template.content.email.html: line 2: stopped after 10,000 loop iterations"


def test_output_that_grows_past_the_limit_is_stopped_at_render_time():
    template = _template("{% for i in data.items %}{{ data.blob }}{% endfor %}")
    recipient = Recipient("a", profile_namespace("a"), data={"items": list(range(500)), "blob": "z" * 5000})
    result, = render_batch(template, [recipient], _batch())
    assert result.error.endswith("stopped at 1,000,000 bytes of output")


def test_variants_follow_their_weights_on_ten_thousand_recipients():
    picker = VariantPicker([("a", 70), ("b", 20), ("c", 10), ("never", 0)])
    counts = Counter(picker.pick("workspaces/acme/campaigns/spring", f"u-{i}") for i in range(10_000))
    assert set(counts) == {"a", "b", "c"}
    for variant, share in (("a", 0.7), ("b", 0.2), ("c", 0.1)):
        assert abs(counts[variant] / 10_000 - share) < 0.02, counts
    again = [picker.pick("workspaces/acme/campaigns/spring", f"u-{i}") for i in range(1000)]
    assert again == [picker.pick("workspaces/acme/campaigns/spring", f"u-{i}") for i in range(1000)]
    other = [picker.pick("workspaces/acme/campaigns/autumn", f"u-{i}") for i in range(1000)]
    assert other != again  # another campaign draws another split


def test_variant_assignment_is_the_same_in_another_process():
    ids = [f"u-{i}" for i in range(200)]
    here = [VariantPicker([("a", 1), ("b", 1)]).pick("seed", i) for i in ids]
    code = ("from svc_content.templating.variants import VariantPicker\n"
            f"print(''.join(VariantPicker([('a', 1), ('b', 1)]).pick('seed', i) for i in {ids!r}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "12345", "PATH": ""})
    assert out.stdout.strip() == "".join(here)


def test_each_recipient_gets_one_variant_rendered():
    variants = (Variant("a", "A", 1, EmailContent(subject="A {{ profile.external_id }}", compiled_html="a")),
                Variant("b", "B", 1, EmailContent(subject="B {{ profile.external_id }}", compiled_html="b")))
    template = _template("", variants=variants)
    results = render_batch(template, [Recipient(f"u-{i}", profile_namespace(f"u-{i}")) for i in range(40)], _batch())
    assert {r.variant for r in results} == {"a", "b"}
    assert all(r.content.subject == f"{r.variant.upper()} u-{i}" for i, r in enumerate(results))
    forced = render_batch(template, [Recipient("u-1", profile_namespace("u-1"))], _batch(variant="b"))[0]
    assert forced.variant == "b" and forced.content.subject == "B u-1"


# -- the render service, with fake neighbours ---------------------------------------------------------------


class FakeAudience(AudienceDirectory):
    def __init__(self):
        self.asked: list = []

    async def profiles(self, workspace, profile_ids):
        self.asked.append(("profiles", workspace, tuple(profile_ids)))
        return {p: (profile_namespace(p, email=f"{p}@example.com", attributes={"first_name": p.upper()})
                    if p != "gone" else None) for p in profile_ids}

    async def memberships(self, workspace, segment_ids, profile_ids):
        self.asked.append(("memberships", tuple(segment_ids), tuple(profile_ids)))
        return {"ann": {"vip"}}


class FakeCampaigns(CampaignDirectory):
    async def campaign(self, workspace, campaign_id):
        return {"id": campaign_id, "name": "Spring sale"} if campaign_id == "spring" else None

    async def referencing(self, workspace, template_name):
        return []


def _service(source: RenderSource, key: bytes | None = b"k" * 32) -> tuple[RenderService, FakeAudience]:
    import svc_content.service_layer.rendering as rendering

    audience = FakeAudience()
    service = RenderService(lambda: None, audience, FakeCampaigns(), key, "http://edge", run_inline,
                            clock=lambda: datetime(2026, 3, 1, tzinfo=UTC))

    async def run(fn, *args):
        if fn is rendering.handlers.render_source:
            return source
        return fn(*args)

    service.run = run
    return service, audience


def _source(html: str, variables: tuple[str, ...], segments: tuple[str, ...] = ()) -> RenderSource:
    content = EmailContent(subject="Hi {{ profile.first_name }}", html=html, compiled_html=html, compiled_text="")
    return RenderSource(("acme", "t", "r1"), "workspaces/acme/templates/t", "", Channel.EMAIL, content, (), {},
                        variables, segments)


def test_profiles_given_by_name_are_read_in_one_go_and_missing_ones_fail_alone():
    source = _source('{{ profile.email }}{% if segments contains "vip" %} VIP{% endif %} {{ campaign.name }}',
                     ("campaign.name", "profile.email", "profile.first_name", "segments"), ("vip",))
    service, audience = _service(source)
    call = RenderCall("acme", "t", None, [RenderRequest("ann"), RenderRequest("bob"), RenderRequest("gone"),
                                          RenderRequest(problem=("INVALID_ARGUMENT", "contexts[3].profile", "bad"))],
                      campaign_id="spring")
    results = asyncio.run(service.render(call)).results
    assert [r.content.html if r.content else r.error for r in results] == [
        "ann@example.com VIP Spring sale", "bob@example.com Spring sale",
        "contexts[2].profile: workspaces/acme/profiles/gone not found", "contexts[3].profile: bad"]
    assert [r.code for r in results] == ["", "", "NOT_FOUND", "INVALID_ARGUMENT"]
    assert audience.asked == [("profiles", "acme", ("ann", "bob", "gone")),
                              ("memberships", ("vip",), ("ann", "bob", "gone"))]


def test_inline_profiles_are_not_looked_up():
    service, audience = _service(_source("{{ profile.email }}", ("profile.email",)))
    inline = RenderRequest("", profile_namespace("", email="preview@example.com"), ("vip",))
    result, = asyncio.run(service.render(RenderCall("acme", "t", None, [inline]))).results
    assert result.content.html == "preview@example.com" and audience.asked == []


def test_the_render_service_refuses_what_it_cannot_do():
    source = _source("x", ())
    service, _ = _service(source)
    with pytest.raises(InvalidArgument, match="not a variant"):
        asyncio.run(service.render(RenderCall("acme", "t", None, [RenderRequest()], variant="zz")))
    keyless, _ = _service(source, key=None)
    with pytest.raises(FailedPrecondition, match="MKT_LINK_SIGNING_KEY"):
        asyncio.run(keyless.render(RenderCall("acme", "t", None, [RenderRequest()], tracking=True)))
    unknown = _source("[{{ campaign.name }}]", ("campaign.name",))
    service, _ = _service(unknown)
    result, = asyncio.run(service.render(RenderCall("acme", "t", None, [RenderRequest()], campaign_id="nope"))).results
    assert result.content.html == "[]"
    assert result.warnings == ["campaign.name: workspaces/acme/campaigns/nope is not known to the content service "
                               "(yet): its name is empty"]


def test_analysis_is_what_the_checked_template_reports():
    assert Analysis(("profile.email",), ()).variables == ("profile.email",)
    sms = CompiledTemplate(Channel.SMS, SmsContent("Hi {{ profile.first_name }}"), (), {}, ())
    result, = render_batch(sms, [Recipient("a", profile_namespace("a", attributes={"first_name": "Ann"}))], _batch())
    assert result.content.body == "Hi Ann"


def test_break_outside_a_loop_is_reported_like_python_liquid_does():
    template = _template("a{% break %}b")
    result, = render_batch(template, [Recipient("a", profile_namespace("a"))], _batch())
    assert result.error == "template.content.email.html: line 1: unexpected 'break'"
