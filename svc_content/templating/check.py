"""Save-time checking of a template draft: every Liquid field parsed and
analysed, MJML compiled, the plain-text part generated, and a trial render
with sample values that stops a template whose loops or output blow past the
sandbox limits. Problems come back as field violations naming the field and
the line (`template.content.email.html`, "line 3: unknown variable profile.nme")."""

from __future__ import annotations

from dataclasses import replace

from liquid.exceptions import LiquidError, ResourceLimitError

from svc_kit.channels import Channel
from svc_kit.errors import FieldViolation, InvalidArgument

from svc_content.domain import validation
from svc_content.domain.model import Analysis, Content, EmailContent, TemplateDraft
from svc_content.templating import sandbox
from svc_content.templating.mjml import compile_mjml
from svc_content.templating.plaintext import html_to_text

MAX_FIELD = 512 * 1024
MAX_SHORT_FIELD = 4096
_SHORT = ("subject", "preheader", "from_name", "from_address", "reply_to", "title", "image_url", "deep_link")

SAMPLE_NAMESPACE = {
    "profile": {"external_id": "sample", "name": "workspaces/sample/profiles/sample", "email": "sample@example.com",
                "phone": "+15550100", "locale": "en", "time_zone": "UTC", "first_name": "Sam", "last_name": "Ple",
                "attributes": {"first_name": "Sam", "last_name": "Ple"}},
    "campaign": {"id": "sample", "name": "Sample campaign"},
    "message": {"id": "sample", "unsubscribe_url": "https://example.com/unsubscribe",
                "view_in_browser_url": "https://example.com/view"},
    "segments": [],
    "data": {},
}


class _Collector:
    def __init__(self) -> None:
        self.violations: list[FieldViolation] = []
        self.variables: set[str] = set()
        self.segments: set[str] = set()

    def problems(self, field: str, problems) -> None:
        self.violations += [FieldViolation(field, str(p)) for p in problems]

    def liquid(self, field: str, source: str, trial: bool = True) -> bool:
        """Parses and analyses one Liquid field; True when it is sound."""
        if not source:
            return True
        limit = MAX_SHORT_FIELD if field.rsplit(".", 1)[-1] in _SHORT else MAX_FIELD
        if len(source) > limit:
            self.violations.append(FieldViolation(field, f"{len(source):,} characters; at most {limit:,}"))
            return False
        try:
            template = sandbox.parse(source)
            findings = sandbox.analyze(template, source)
        except sandbox.TemplateProblems as problems:
            self.problems(field, problems.problems)
            return False
        self.variables.update(findings.variables)
        self.segments.update(findings.segments)
        if trial:
            try:
                template.render(**SAMPLE_NAMESPACE)
            except ResourceLimitError as error:
                self.violations.append(FieldViolation(field, sandbox.describe_render_error(error, source)))
                return False
            except LiquidError:
                pass  # depends on the recipient's values: reported per recipient when rendering
        return True


def _check_email(content: EmailContent, field: str, out: _Collector) -> EmailContent:
    for name, source in content.sources():
        if name == "html" and content.mjml:
            continue
        out.liquid(f"{field}.email.{name}", source)
    html_field = f"{field}.email.html"
    compiled_html = content.html
    if content.mjml and content.html:
        if not out.liquid(html_field, content.html, trial=False):
            return content
        compiled_html, problems = compile_mjml(content.html)
        if problems:
            out.problems(html_field, problems)
            return content
        try:
            sandbox.parse(compiled_html)
        except sandbox.TemplateProblems as problems:
            out.violations.append(FieldViolation(html_field, "after MJML compilation the Liquid does not parse: "
                                                             + str(problems)))
            return content
        out.liquid(html_field, compiled_html)
    compiled_text = content.text
    html_sound = not any(v.field == html_field for v in out.violations)
    if not content.text and compiled_html and html_sound:
        compiled_text = html_to_text(compiled_html)
        try:
            sandbox.parse(compiled_text)
        except sandbox.TemplateProblems:
            out.violations.append(FieldViolation(
                f"{field}.email.text", "the plain-text part could not be generated from the HTML (Liquid inside "
                                       "tags or attributes it leaves out); write it in text"))
    return replace(content, compiled_html=compiled_html, compiled_text=compiled_text)


def check_content(content: Content | None, field: str, out: _Collector) -> Content | None:
    if content is None:
        return None
    content = content.editable()
    if isinstance(content, EmailContent):
        return _check_email(content, field, out)
    for name, source in content.sources():
        out.liquid(f"{field}.{content.kind}.{name}", source)
    return content


def check_draft(draft: TemplateDraft, channel: Channel, prefix: str = "template") -> tuple[TemplateDraft, Analysis]:
    """The draft with its compiled fields filled in, and what it reads; or
    InvalidArgument listing every problem found."""
    violations = validation.check_draft_fields(draft, channel, prefix)
    out = _Collector()
    content = check_content(draft.content, f"{prefix}.content", out)
    variants = tuple(replace(v, content=check_content(v.content, f"{prefix}.variants[{i}].content", out))
                     for i, v in enumerate(draft.variants))
    violations += out.violations
    if violations:
        raise InvalidArgument(violations)
    checked = replace(draft, content=content, variants=variants)
    return checked, Analysis(tuple(sorted(out.variables)), tuple(sorted(out.segments)))
