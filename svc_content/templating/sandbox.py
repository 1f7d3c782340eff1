"""The Liquid sandbox: one environment with resource limits and no way out.

- no file or network access: the `include` and `render` tags are removed (a
  template using them is a syntax error) and the loader refuses every name;
- bounded work: loops stop after LOOP_LIMIT iterations (nested loops count
  together), one field's output after OUTPUT_LIMIT bytes, the names a template
  assigns after LOCALS_LIMIT bytes, blocks nest at most 30 deep;
- unknown filters are errors (strict filters), found at save time by static
  analysis together with unknown variables (`namespace.py`), with their line.

`parse` reports a syntax error with its line even where python-liquid's own
error carries no position (errors inside a tag's expression, unclosed blocks)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from liquid import BoundTemplate, Environment
from liquid.builtin.expressions import Path
from liquid.builtin.expressions.logical import ContainsExpression
from liquid.builtin.expressions.primitive import RangeLiteral, StringLiteral, IntegerLiteral
from liquid.context import RenderContext
from liquid.exceptions import LiquidError, ResourceLimitError, TemplateNotFoundError
from liquid.loader import BaseLoader
from liquid.parser import get_parser
from liquid.stream import TokenStream
from liquid.token import TOKEN_EXPRESSION, TOKEN_OUTPUT, TOKEN_TAG

from svc_content.domain import namespace

LOOP_LIMIT = 10_000
OUTPUT_LIMIT = 1_000_000
LOCALS_LIMIT = 256 * 1024
FORBIDDEN_TAGS = ("include", "render")
_OPENERS = ("if", "unless", "for", "case", "capture", "tablerow", "comment", "raw", "ifchanged", "doc")


class RefusingLoader(BaseLoader):
    """Templates never load other templates: there is nothing to load from."""

    def get_source(self, env, template_name, *, context=None, **kwargs):
        raise TemplateNotFoundError(f"{template_name!r}: templates cannot load other templates or files",
                                    token=None)


class SandboxEnvironment(Environment):
    loop_iteration_limit = LOOP_LIMIT
    output_stream_limit = OUTPUT_LIMIT
    local_namespace_limit = LOCALS_LIMIT
    context_depth_limit = 20
    block_nesting_limit = 30

    def __init__(self) -> None:
        super().__init__(loader=RefusingLoader(), strict_filters=True, autoescape=False)
        for tag in FORBIDDEN_TAGS:
            self.tags.pop(tag, None)


ENV = SandboxEnvironment()


@dataclass(frozen=True)
class Problem:
    line: int  # 1-based; 0 when unknown
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


class TemplateProblems(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(map(str, problems)))
        self.problems = problems


def line_of(source: str, index: int) -> int:
    if index < 0:
        return 0
    return source.count("\n", 0, min(index, len(source))) + 1


def _tracked(tokens: Iterator, seen: list) -> Iterator:
    for token in tokens:
        seen.append(token)
        yield token


def _innermost_open_block(seen: list) -> int:
    stack: list[tuple[str, int]] = []
    for token in seen:
        if token.kind != TOKEN_TAG:
            continue
        if token.value in _OPENERS:
            stack.append((token.value, token.start_index))
        elif stack and token.value == "end" + stack[-1][0]:
            stack.pop()
    return stack[-1][1] if stack else -1


def _error_index(error: LiquidError, stream: TokenStream, seen: list, source: str) -> int:
    token = error.token
    if token is not None and token.start_index >= 0 and token.source == source:
        return token.start_index
    message = str(error.message or "")
    if re.search(r"expected tag end\w+|was never closed", message):
        return _innermost_open_block(seen)
    current = stream.current
    at = next((i for i in range(len(seen) - 1, -1, -1) if seen[i] is current), len(seen))
    if current.kind in (TOKEN_TAG, TOKEN_OUTPUT, TOKEN_EXPRESSION) and current.start_index >= 0:
        return current.start_index
    for token in reversed(seen[:at]):
        if token.kind in (TOKEN_TAG, TOKEN_OUTPUT, TOKEN_EXPRESSION) and token.start_index >= 0:
            return token.start_index
    return -1


def _syntax_message(error: LiquidError) -> str:
    message = str(error.message or "syntax error")
    forbidden = re.fullmatch(r"unexpected tag '(\w+)'", message)
    if forbidden and forbidden.group(1) in FORBIDDEN_TAGS:
        return (f"the {forbidden.group(1)} tag is not available: templates cannot include other templates "
                "or read files")
    if forbidden:
        return f"unknown tag '{forbidden.group(1)}'"
    unclosed = re.fullmatch(r"expected tag end(\w+), found end of expression", message)
    if unclosed:
        return f"the {unclosed.group(1)} block opened here is never closed (expected {{% end{unclosed.group(1)} %}})"
    return message.replace("end of expression", "the end of the tag")


def parse(source: str, env: Environment = ENV) -> BoundTemplate:
    """The parsed template, or TemplateProblems naming the line of the syntax error."""
    seen: list = []
    stream = TokenStream(_tracked(env.tokenizer()(source), seen))
    try:
        nodes = get_parser(env).parse(stream)
    except LiquidError as error:
        index = _error_index(error, stream, seen, source)
        raise TemplateProblems([Problem(line_of(source, index), _syntax_message(error))]) from None
    except (RecursionError, ValueError, TypeError):
        raise TemplateProblems([Problem(0, "the template could not be parsed")]) from None
    return env.template_class(env=env, nodes=nodes, globals=env.make_globals(None))


@dataclass(frozen=True)
class Findings:
    variables: tuple[str, ...]  # the namespace paths read, e.g. profile.first_name
    segments: tuple[str, ...]  # segment ids tested with `segments contains "..."`


def analyze(template: BoundTemplate, source: str) -> Findings:
    """Static checks: unknown variables and filters, reserved names, loops over
    ranges larger than the limit. Raises TemplateProblems, else what it read."""
    problems: list[Problem] = []
    analysis = template.analyze(include_partials=False)
    variables: set[str] = set()
    for occurrences in analysis.globals.values():
        for variable in occurrences:
            line = variable.span.line_col(source)[0] if variable.span.index >= 0 else 0
            problem = namespace.check_variable(list(variable.segments))
            if problem:
                problems.append(Problem(line, problem))
            else:
                variables.add(_namespace_path(variable.segments))
    for name, spans in analysis.filters.items():
        if name not in template.env.filters:
            for span in spans:
                problems.append(Problem(span.line_col(source)[0], f"unknown filter '{name}'"))
    segments: set[str] = set()
    static_context = RenderContext(template)
    for node in template.nodes:
        _walk(node, static_context, source, segments, problems)
    if problems:
        problems.sort(key=lambda p: p.line)
        raise TemplateProblems(_unique(problems))
    return Findings(tuple(sorted(variables)), tuple(sorted(segments)))


def _unique(problems: list[Problem]) -> list[Problem]:
    out, seen = [], set()
    for problem in problems:
        if (problem.line, problem.message) not in seen:
            seen.add((problem.line, problem.message))
            out.append(problem)
    return out


def _namespace_path(segments) -> str:
    """profile.attributes.tier from [profile, attributes, tier]; dynamic parts end the path."""
    out = []
    for segment in segments:
        if not isinstance(segment, str) or segment in namespace.SPECIAL:
            break
        out.append(segment)
    if out and out[0] == "profile" and len(out) > 3:
        out = out[:3]
    if out and out[0] == "data" and len(out) > 2:
        out = out[:2]
    return ".".join(out)


def _walk(node, static_context, source: str, segments: set[str], problems: list[Problem]) -> None:
    for name in [*node.template_scope(), *node.block_scope()]:
        if str(name) in namespace.ROOTS:
            index = getattr(getattr(name, "token", None), "start_index", node.token.start_index)
            problems.append(Problem(line_of(source, index),
                                    f"'{name}' is a reserved name (profile, campaign, message, segments, data); "
                                    "choose another"))
    for expression in node.expressions():
        _walk_expression(expression, source, segments, problems)
    for child in node.children(static_context, include_partials=False):
        _walk(child, static_context, source, segments, problems)


def _walk_expression(expression, source: str, segments: set[str], problems: list[Problem]) -> None:
    if isinstance(expression, ContainsExpression):
        left, right = expression.left, expression.right
        if isinstance(left, Path) and left.path == ["segments"] and isinstance(right, StringLiteral):
            segments.add(right.value.rsplit("/", 1)[-1])
    if isinstance(expression, RangeLiteral):
        start, stop = expression.start, expression.stop
        if isinstance(start, IntegerLiteral) and isinstance(stop, IntegerLiteral):
            if stop.value - start.value + 1 > LOOP_LIMIT:
                problems.append(Problem(line_of(source, expression.token.start_index)
                                        if expression.token.source == source else 0,
                                        f"a range of {stop.value - start.value + 1:,} items is more than the "
                                        f"{LOOP_LIMIT:,} loop iterations a template may run"))
    for child in expression.children():
        _walk_expression(child, source, segments, problems)


def describe_render_error(error: LiquidError, source: str) -> str:
    """A render-time error as `line N: what`, for a recipient's error status."""
    token = error.token
    line = line_of(source, token.start_index) if token is not None and token.source == source else 0
    message = str(error.message or type(error).__name__)
    if isinstance(error, ResourceLimitError):
        limits = {"loop iteration limit reached": f"stopped after {LOOP_LIMIT:,} loop iterations",
                  "output stream limit reached": f"stopped at {OUTPUT_LIMIT:,} bytes of output",
                  "local namespace limit reached": f"stopped: assigned values exceed {LOCALS_LIMIT:,} bytes"}
        message = limits.get(message, message)
    return f"line {line}: {message}" if line else message
