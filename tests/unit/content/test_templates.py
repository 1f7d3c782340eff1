"""Content templates checked at save time: Liquid syntax, unknown variables and
filters with their line, the sandbox (no include/render, bounded loops and
output), MJML (compiled once, mj-include and unknown tags refused), the
plain-text part."""

from __future__ import annotations

import pytest

from svc_kit.channels import Channel
from svc_kit.errors import InvalidArgument

from svc_content.domain.model import EmailContent, PushContent, SmsContent, TemplateDraft, Variant
from svc_content.templating.check import check_draft
from svc_content.templating.plaintext import html_to_text


def violations(draft: TemplateDraft, channel: Channel = Channel.EMAIL) -> list[tuple[str, str]]:
    with pytest.raises(InvalidArgument) as caught:
        check_draft(draft, channel)
    return [(v.field, v.description) for v in caught.value.violations]


def email(html: str = "<p>Hi</p>", subject: str = "Hello", **kw) -> TemplateDraft:
    return TemplateDraft("Welcome", content=EmailContent(subject=subject, html=html, **kw))


def test_an_unknown_variable_is_reported_with_its_field_and_line():
    found = violations(email("<p>\nHello\n{{ profile.nme }}</p>"))
    assert found == [("template.content.email.html",
                      "line 3: unknown variable profile.nme (did you mean profile.name?)")]


def test_an_unknown_filter_is_reported_with_its_line():
    found = violations(email("line one\n{{ profile.email | shout }}", subject="{{ profile.email | upcase }}"))
    assert found == [("template.content.email.html", "line 2: unknown filter 'shout'")]


def test_every_problem_of_every_field_is_listed():
    draft = TemplateDraft("W", content=EmailContent(subject="{{ campaign.title }}", html="{{ segment }}\n{{ x | y }}"))
    fields = violations(draft)
    assert any(f == "template.content.email.subject" and d.startswith("line 1: unknown variable campaign.title")
               for f, d in fields)
    assert [f for f, _ in fields].count("template.content.email.html") == 3  # segment, x, y


def test_a_syntax_error_names_its_line():
    found = violations(email("<p>ok</p>\n<p>{% if profile.email %}\nyes\n"))
    assert found == [("template.content.email.html",
                      "line 2: the if block opened here is never closed (expected {% endif %})")]
    found = violations(email("a\nb\n{% for x in %}{% endfor %}"))
    assert found[0][1].startswith("line 3: ")


@pytest.mark.parametrize("tag", ["render", "include"])
def test_templates_cannot_include_other_templates_or_files(tag):
    found = violations(email(f"a\n{{% {tag} '/etc/passwd' %}}"))
    assert found == [("template.content.email.html", f"line 2: the {tag} tag is not available: templates cannot "
                                                     "include other templates or read files")]


def test_known_variables_pass_and_are_listed():
    draft = email('{{ profile.first_name | default: "there" }} {{ profile.attributes.tier }} {{ campaign.name }} '
                  '{{ message.unsubscribe_url }} {% for item in data.items %}{{ item.name }}{{ forloop.index }}'
                  '{% endfor %}{% assign n = profile.email | size %}{{ n }}'
                  '{% if segments contains "vip" %}VIP{% endif %}')
    checked, analysis = check_draft(draft, Channel.EMAIL)
    assert analysis.variables == ("campaign.name", "data.items", "message.unsubscribe_url", "profile.attributes.tier",
                                  "profile.email", "profile.first_name", "segments")
    assert analysis.segments == ("vip",)
    assert checked.content.compiled_html == draft.content.html


def test_the_namespace_roots_cannot_be_reassigned():
    found = violations(email("{% assign profile = 1 %}\n{% for campaign in data.x %}{% endfor %}"))
    assert [d for _, d in found] == [
        "line 1: 'profile' is a reserved name (profile, campaign, message, segments, data); choose another",
        "line 2: 'campaign' is a reserved name (profile, campaign, message, segments, data); choose another"]


def test_a_loop_that_would_run_forever_is_refused_when_saved():
    found = violations(email("x\n{% for i in (1..1000000000) %}{{ i }}{% endfor %}"))
    assert found == [("template.content.email.html",
                      "line 2: a range of 1,000,000,000 items is more than the 10,000 loop iterations a template "
                      "may run")]
    nested = "{% for i in (1..5000) %}{% for j in (1..5000) %}x{% endfor %}{% endfor %}"
    assert violations(TemplateDraft("S", content=SmsContent(nested)), Channel.SMS) == [
        ("template.content.sms.body", "line 1: stopped after 10,000 loop iterations")]


def test_output_that_blows_up_is_stopped_when_saved():
    doubling = "{% assign s = 'xxxxxxxxxxxxxxxx' %}{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}{{ s }}"
    (field, description), = violations(TemplateDraft("S", content=SmsContent(doubling)), Channel.SMS)
    assert field == "template.content.sms.body" and description.startswith("line 1: stopped")
    wide = "{% for i in (1..9000) %}" + "y" * 200 + "{% endfor %}"
    assert violations(TemplateDraft("S", content=SmsContent(wide)), Channel.SMS) == [
        ("template.content.sms.body", "line 1: stopped at 1,000,000 bytes of output")]


MJML = """<mjml>
  <mj-body>
    <mj-section><mj-column>
      <mj-text>Hello {{ profile.first_name | default: "there" }} {% if profile.attributes.points > 100 %}VIP{% endif %}</mj-text>
      <mj-button href="https://shop.example.com/?u={{ profile.external_id }}">Shop</mj-button>
    </mj-column></mj-section>
    <mj-raw>{% if segments contains "vip" %}</mj-raw>
    <mj-section><mj-column><mj-text>Private sale</mj-text></mj-column></mj-section>
    <mj-raw>{% endif %}</mj-raw>
  </mj-body>
</mjml>"""


def test_mjml_is_compiled_once_with_its_liquid_intact_and_a_text_part():
    checked, analysis = check_draft(email(MJML, mjml=True), Channel.EMAIL)
    html = checked.content.compiled_html
    assert html.lstrip().startswith("<!doctype html>") and "<mj-" not in html
    for markup in ('{{ profile.first_name | default: "there" }}', "{% if profile.attributes.points > 100 %}",
                   "https://shop.example.com/?u={{ profile.external_id }}", '{% if segments contains "vip" %}'):
        assert markup in html
    assert checked.content.html == MJML  # the source is kept as written
    text = checked.content.compiled_text
    assert 'Hello {{ profile.first_name | default: "there" }}' in text
    assert "Shop (https://shop.example.com/?u={{ profile.external_id }})" in text
    assert analysis.segments == ("vip",)


def test_mj_include_is_refused_without_reading_the_file(tmp_path):
    secret = tmp_path / "secret.mjml"
    secret.write_text("<mj-text>SECRET</mj-text>")
    source = MJML.replace("<mj-raw>{% endif %}</mj-raw>", f'<mj-raw>{{% endif %}}</mj-raw>\n<mj-include path="{secret}" />')
    found = violations(email(source, mjml=True))
    assert found == [("template.content.email.html", "line 10: <mj-include> is not allowed: templates cannot read files")]


def test_an_unknown_mjml_tag_is_a_validation_error_not_a_crash():
    source = "<mjml>\n<mj-body>\n<mj-section><mj-column>\n<mj-sparkle>x</mj-sparkle>\n<div>raw</div>\n" \
             "</mj-column></mj-section></mj-body></mjml>"
    assert violations(email(source, mjml=True)) == [
        ("template.content.email.html", "line 4: unknown MJML tag <mj-sparkle>"),
        ("template.content.email.html", "line 5: <div> cannot stand directly inside <mj-column>: put HTML inside "
                                        "<mj-text> or <mj-raw>")]


def test_liquid_the_mjml_compiler_would_drop_is_reported_with_its_line():
    source = "<mjml><mj-body>\n{% if profile.email %}\n<mj-section><mj-column><mj-text>x</mj-text></mj-column>" \
             "</mj-section>\n{% endif %}\n</mj-body></mjml>"
    found = violations(email(source, mjml=True))
    assert [(f, d.split(":")[0]) for f, d in found] == [("template.content.email.html", "line 2"),
                                                        ("template.content.email.html", "line 4")]
    assert "dropped by the MJML compiler" in found[0][1] and "<mj-raw>" in found[0][1]


def test_mjml_that_is_not_mjml_is_refused():
    assert violations(email("<p>not mjml</p>", mjml=True)) == [
        ("template.content.email.html", "line 1: an MJML body starts with <mjml>")]
    assert violations(email("<mjml><mj-head></mj-head></mjml>", mjml=True)) == [
        ("template.content.email.html", "line 1: <mjml> needs an <mj-body>")]


def test_css_inlining_is_refused_with_its_reason():
    source = '<mjml><mj-head><mj-style inline="inline">.x{color:red}</mj-style></mj-head><mj-body></mj-body></mjml>'
    (field, description), = violations(email(source, mjml=True))
    assert "css-inlining" in description


def test_fields_of_variants_are_checked_under_their_own_path():
    draft = TemplateDraft("AB", variants=(
        Variant("a", "A", 50, EmailContent(subject="ok", html="<p>{{ profile.email }}</p>")),
        Variant("b", "B", 50, EmailContent(subject="{{ profile.emial }}", html="<p>x</p>"))))
    assert violations(draft) == [("template.variants[1].content.email.subject",
                                  "line 1: unknown variable profile.emial (did you mean profile.email?)")]


def test_variants_need_ids_weights_and_the_template_channel():
    draft = TemplateDraft("AB", variants=(
        Variant("A", "", 0, EmailContent(subject="x")), Variant("b", "", 0, SmsContent("x")),
        Variant("b", "", 20_000, EmailContent(subject="x"))))
    found = violations(draft)
    assert ("template.variants[0].id", "required: 1-63 characters [a-z][a-z0-9-]*") in found
    assert ("template.variants[1].content", "holds sms content but the template's channel is EMAIL") in found
    assert ("template.variants[2].id", "'b' is used twice") in found


@pytest.mark.parametrize(("template", "field"), [
    (dict(display_name="x" * 201), "template.display_name"),
    (dict(description="x" * 5001), "template.description"),
    (dict(variants=[{"id": f"v{i}"} for i in range(11)]), "template.variants"),
    (dict(variants=[{"id": "a", "weight": 10_001}]), "template.variants[0].weight"),
    (dict(variants=[{"id": "a", "weight": -1}]), "template.variants[0].weight"),
    (dict(variants=[{"id": "a", "display_name": "x" * 201}]), "template.variants[0].display_name"),
])
def test_one_field_rules_are_in_the_proto(template, field):
    from marketing.content.v1 import content_service_pb2, template_pb2
    from svc_kit.validation import violations_of

    request = content_service_pb2.CreateTemplateRequest(template=template_pb2.Template(**template))
    assert [v.field for v in violations_of(request)] == [field]
    assert violations_of(content_service_pb2.CreateTemplateRequest(template=template_pb2.Template(
        display_name="x" * 200, variants=[{"id": "a", "weight": 10_000}] * 10))) == []


def test_defaults_must_name_known_variables():
    draft = TemplateDraft("D", content=EmailContent(subject="x"), defaults={
        "profile.first_name": "there", "profile.attributes.city": "your city", "data.coupon": "SPRING",
        "profile.nickname": "x", "message.unsubscribe_url": "x", "profile.attributes": "x"})
    found = dict(violations(draft))
    assert set(found) == {"template.defaults.profile.nickname", "template.defaults.message.unsubscribe_url",
                          "template.defaults.profile.attributes"}


def test_every_channel_checks_its_fields():
    draft = TemplateDraft("P", content=PushContent("Hi {{ profile.first_name }}", "{{ profile.x }}",
                                                   {"deep": "{{ data.id | nope }}"}))
    assert violations(draft, Channel.PUSH) == [
        ("template.content.push.body", "line 1: unknown variable profile.x"),
        ("template.content.push.data.deep", "line 1: unknown filter 'nope'")]
    assert violations(TemplateDraft("S", content=EmailContent()), Channel.SMS) == [
        ("template.content", "holds email content but the template's channel is SMS")]


def test_the_plain_text_part_keeps_links_lists_and_liquid():
    html = ("<html><head><style>p{color:red}</style><title>T</title></head><body>"
            "<h1>Hi {{ profile.first_name }}</h1><p>Read <a href=\"https://x.example/a?b=1&amp;c=2\">the news</a>"
            "</p><ul><li>one</li><li>{{ data.two | upcase }}</li></ul><!--[if mso]><p>outlook</p><![endif]-->"
            "<img src=\"a.png\" alt=\"Logo\"><p>{% if a > 1 %}big{% endif %}</p></body></html>")
    assert html_to_text(html) == ("Hi {{ profile.first_name }}\n\nRead the news (https://x.example/a?b=1&c=2)\n\n"
                                  "- one\n- {{ data.two | upcase }}\n\nLogo\n\n{% if a > 1 %}big{% endif %}\n")
