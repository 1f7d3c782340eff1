"""Templates compiled once and rendered many times.

python-liquid parses a template into nodes and renders them through a render
context; on a batch of recipients most of that work is the same every time.
`CompiledField` does it once per template version and field:

- a field without Liquid markup is a constant;
- the nodes become flat lists of operations: runs of text are joined into one
  string, output statements keep only their expression, blocks (the bodies of
  if, for, case...) get the same treatment, if/unless pick their branch and
  render it in line; other nodes (for, case...) stay python-liquid's;
- plain variables (`profile.attributes.tier`) are looked up straight in the
  recipient's dictionaries, falling back to python-liquid's own lookup for
  anything else (`size`/`first`/`last`, indexes, missing values, loop
  variables); filters are looked up once, with their arguments when literal;
- per batch (`bind`), operations that read only batch-constant values
  (`campaign.*`), tracked links included, are evaluated once and folded into
  the surrounding text;
- per recipient, one render context is reused (templates with no state of
  their own: no assign, capture, counters, cycle).

Every expression is still evaluated by python-liquid (conditions, filters,
truthiness, errors), so the output equals `template.render(**namespace)`:
tests/unit/content/test_rendering.py checks it on a corpus, bench/render.py
on every benchmark recipient. The resource limits hold: loops are
python-liquid's, output is counted per block and checked per field."""

from __future__ import annotations

import functools
import html as html_lib
import re
from urllib.parse import quote

from liquid import BoundTemplate
from liquid.ast import BlockNode, Node
from liquid.builtin.content import ContentNode
from liquid.builtin.expressions import FilteredExpression, Path, parse_identifier
from liquid.builtin.expressions.filtered import Filter
from liquid.builtin.expressions.primitive import (FalseLiteral, FloatLiteral, IntegerLiteral, Nil,
                                                  StringLiteral, TrueLiteral)
from liquid.builtin.output import OutputNode
from liquid.builtin.tags.if_tag import IfNode
from liquid.builtin.tags.unless_tag import UnlessNode
from liquid.context import RenderContext
from liquid.exceptions import (FilterArgumentError, LiquidError, LiquidInterrupt, LiquidSyntaxError,
                               LiquidTypeError, OutputStreamLimitError)
from liquid.parser import get_parser
from liquid.stringify import to_liquid_string
from liquid.tag import Tag
from liquid.token import TOKEN_EOF, TOKEN_TAG
from liquid.undefined import UNDEFINED

from svc_kit.link_tracking import CLICK, link_part

from svc_content.domain.namespace import BATCH_ROOTS
from svc_content.templating import sandbox

LINKS_KEY = "__mkt_links__"  # the recipient's link maker, in the namespace of tracked renders
_SPECIAL = frozenset(("size", "first", "last"))
_STATEFUL_TAGS = frozenset(("assign", "capture", "increment", "decrement", "cycle", "ifchanged"))


class FastContext(RenderContext):
    """A render context whose variable lookup walks the recipient's dictionaries
    directly; anything it cannot resolve that way goes to python-liquid."""

    __slots__ = ()

    def get(self, path, *, token, default=UNDEFINED):
        try:
            obj = self.globals[path[0]]
            for i in range(1, len(path)):
                segment = path[i]
                if segment.__class__ is not str or segment in _SPECIAL:
                    return RenderContext.get(self, path, token=token, default=default)
                obj = obj[segment]
            return obj
        except (KeyError, TypeError, IndexError):
            return RenderContext.get(self, path, token=token, default=default)


class FastPath(Path):
    """A variable of plain names (`profile.attributes.tier`), looked up without
    python-liquid's per-segment checks; the same value, or python-liquid's
    own lookup when the quick walk fails."""

    __slots__ = ("root", "rest")

    def __init__(self, original: Path):
        super().__init__(original.token, original.path)
        self.root = original.path[0]
        self.rest = tuple(original.path[1:])

    def evaluate(self, context):
        root = self.root
        try:
            names = context.globals
            obj = names[root] if root in names else context.scope[root]
            for segment in self.rest:
                obj = obj[segment]
            return obj
        except (KeyError, TypeError, IndexError):
            return RenderContext.get(context, self.path, token=self.token)


class FastFilter(Filter):
    """A filter call whose function (and, when they are literals, arguments) are
    looked up once; the call and its error handling are python-liquid's."""

    __slots__ = ("func", "positional", "keywords")

    def __init__(self, original: Filter, func, positional: list | None, keywords: dict | None):
        super().__init__(original.token, original.name, original.args)
        self.func = func
        self.positional = positional
        self.keywords = keywords

    def evaluate(self, left, context):
        if self.positional is None:
            positional, keywords = self.evaluate_args(context)
        else:
            positional, keywords = self.positional, self.keywords
        try:
            return self.func(left, *positional, **keywords)
        except TypeError as err:
            raise LiquidTypeError(f"{self.name}: {err}", token=self.token) from err
        except (LiquidTypeError, FilterArgumentError) as err:
            err.token = self.token
            raise err


_LITERALS = (StringLiteral, IntegerLiteral, FloatLiteral, TrueLiteral, FalseLiteral, Nil)


def _fast_filter(original: Filter, env) -> Filter:
    func = env.filters.get(original.name)
    if func is None or getattr(func, "with_context", False) or hasattr(func, "filter_async"):
        return original
    if getattr(func, "with_environment", False):
        func = functools.partial(func, environment=env)
    positional, keywords = [], {}
    for arg in original.args:
        if type(arg.value) not in _LITERALS:
            return FastFilter(original, func, None, None)
        name, value = arg.evaluate(_LITERAL_CONTEXT)
        if name:
            keywords[name] = value
        else:
            positional.append(value)
    return FastFilter(original, func, positional, keywords)


class _LiteralContext:
    autoescape = False


_LITERAL_CONTEXT = _LiteralContext()


def _plain_path(value) -> bool:
    return (type(value) is Path and isinstance(value.path[0], str)
            and all(s.__class__ is str and s not in _SPECIAL for s in value.path[1:]))


def _speed_up(value, depth: int = 0, env=None) -> None:
    """Swaps plain variables inside an expression tree for FastPath (in place)."""
    if depth > 50 or not type(value).__module__.startswith("liquid."):
        return
    for cls in type(value).__mro__:
        for slot in getattr(cls, "__slots__", ()):
            if slot == "token":
                continue
            child = getattr(value, slot, None)
            if _plain_path(child):
                setattr(value, slot, FastPath(child))
            elif isinstance(child, list):
                for i, item in enumerate(child):
                    if _plain_path(item):
                        child[i] = FastPath(item)
                    else:
                        if type(item) is Filter and env is not None:
                            item = child[i] = _fast_filter(item, env)
                        _speed_up(item, depth + 1, env)
            elif child is not None and not isinstance(child, (str, int, float, bool, tuple, Path)):
                _speed_up(child, depth + 1, env)


class _Collector:
    """An output buffer for the nodes python-liquid renders itself: a list of
    pieces, its size counted in characters (never more than the bytes, so the
    limit cannot be passed unnoticed; the exact byte count is checked per field)."""

    __slots__ = ("parts", "size")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0

    def write(self, text: str) -> int:
        if text:
            self.size += len(text)
            if self.size > sandbox.OUTPUT_LIMIT:
                raise OutputStreamLimitError("output stream limit reached", token=None)
            self.parts.append(text)
        return len(text)

    def getvalue(self) -> str:
        return "".join(self.parts)


class FastBlock(BlockNode):
    """A block (the body of an if, for, case...) whose text and output
    statements are rendered without python-liquid's per-node indirections;
    other nodes render themselves. Blank blocks stay python-liquid's."""

    __slots__ = ("ops",)

    def __init__(self, original: BlockNode):
        super().__init__(original.token, original.nodes)
        self.ops = _flat_ops(original.nodes)

    def render_to_output(self, context, buffer) -> int:
        if self.blank:
            return BlockNode.render_to_output(self, context, buffer)
        out: list[str] = []
        try:
            _emit(self.ops, context, out)
        finally:  # what came before a {% break %} or {% continue %} is output too
            text = "".join(out)
            if text:
                buffer.write(text)
        return len(text)


def _emit(ops: list, context, out: list) -> None:
    """Renders operations onto `out`; if/unless pick their branch with
    python-liquid's own condition evaluation and render it in line."""
    append = out.append
    for op in ops:
        cls = op.__class__
        if cls is str:
            append(op)
        elif cls is FastPath or cls is FilteredExpression:
            value = op.evaluate(context)
            append(value if value.__class__ is str else to_liquid_string(value, False))
        elif cls is IfNode or cls is UnlessNode:
            _emit_branch(op, context, out)
        else:
            buffer = _Collector()
            try:
                op.render(context, buffer)
            finally:
                append(buffer.getvalue())


def _emit_branch(node, context, out: list) -> None:
    taken = node.condition.evaluate(context)
    if node.__class__ is UnlessNode:
        taken = not taken
    block = node.consequence if taken else None
    if block is None:
        for alternative in node.alternatives:
            if alternative.expression.evaluate(context):
                block = alternative.block
                break
        else:
            block = node.default
    if block is None:
        return
    if block.__class__ is FastBlock and not block.blank:
        _emit(block.ops, context, out)
    else:
        buffer = _Collector()
        block.render(context, buffer)
        out.append(buffer.getvalue())


def _flat_ops(nodes) -> list:
    ops: list = []
    for node in nodes:
        if isinstance(node, ContentNode):
            if ops and ops[-1].__class__ is str:
                ops[-1] += node.text
            else:
                ops.append(node.text)
        elif type(node) is OutputNode:
            ops.append(_output_op(node.expression))
        else:
            ops.append(node)
    return ops


def _output_op(expression):
    """An output statement's expression; a bare variable (no filters) as its FastPath."""
    if (expression.__class__ is FilteredExpression and not expression.filters
            and expression.left.__class__ is FastPath):
        return expression.left
    return expression


def _text(value) -> str:
    return value if value.__class__ is str else to_liquid_string(value, False)


def _fast_blocks(node, depth: int = 0) -> None:
    """Swaps the blocks inside a node for FastBlock (in place)."""
    if depth > 100:
        return
    for cls in type(node).__mro__:
        for slot in getattr(cls, "__slots__", ()):
            if slot == "token":
                continue
            child = getattr(node, slot, None)
            if type(child) is BlockNode:
                child = FastBlock(child)
                setattr(node, slot, child)
            if isinstance(child, Node):
                _fast_blocks(child, depth + 1)
            elif isinstance(child, list):
                for i, item in enumerate(child):
                    if type(item) is BlockNode:
                        item = child[i] = FastBlock(item)
                    if isinstance(item, Node):
                        _fast_blocks(item, depth + 1)


# -- the internal tags of tracked HTML -----------------------------------------------------------------


class TrackNode(Node):
    """`{% mkt_track l3 %}<href as written>{% endmkt_track %}`: the link's
    destination, rendered, then swapped for its click-tracking URL."""

    __slots__ = ("link", "block", "static_url")

    def __init__(self, token, link: str, block: BlockNode):
        super().__init__(token)
        self.link = link
        self.block = block
        nodes = block.nodes
        self.static_url = nodes[0].text if len(nodes) == 1 and isinstance(nodes[0], ContentNode) else (
            "" if not nodes else None)
        self.blank = False

    def render_to_output(self, context, buffer) -> int:
        if self.static_url is not None:
            written = self.static_url
        else:
            buf = _Collector()
            self.block.render(context, buf)
            written = buf.getvalue()
        links = context.get([LINKS_KEY], token=None, default=None)
        return buffer.write(links.href(self.link, written) if links is not None else written)

    def children(self, static_context, *, include_partials=True):
        yield self.block


class StaticLink:
    """A tracked link whose destination is known before the recipient is (folded
    per batch): its token part and quoted URL are made once."""

    __slots__ = ("link", "url", "part", "quoted")

    def __init__(self, link: str, url: str):
        self.link = link
        self.url = url  # as written in the HTML
        destination = (html_lib.unescape(url) if "&" in url else url).strip()
        if re.match(r"https?://", destination, re.I):
            self.part, self.quoted = link_part(CLICK, link, destination), quote(destination, safe="")
        else:
            self.part = self.quoted = None  # not a web link: written as it is


class TrackTag(Tag):
    name = "mkt_track"
    end = "endmkt_track"

    def parse(self, stream) -> TrackNode:
        token = stream.eat(TOKEN_TAG)
        tokens = stream.into_inner(tag=token)
        link = parse_identifier(self.env, tokens)
        tokens.expect_eos()
        block = get_parser(self.env).parse_block(stream, frozenset((self.end, TOKEN_EOF)))
        stream.expect(TOKEN_TAG, value=self.end)
        return TrackNode(token, str(link), block)


class OpenPixelNode(Node):
    """`{% mkt_open %}`: the recipient's open pixel."""

    __slots__ = ()

    def __init__(self, token):
        super().__init__(token)
        self.blank = False

    def render_to_output(self, context, buffer) -> int:
        links = context.get([LINKS_KEY], token=None, default=None)
        return buffer.write(links.pixel() if links is not None else "")


class OpenPixelTag(Tag):
    name = "mkt_open"
    block = False

    def parse(self, stream) -> OpenPixelNode:
        stream.expect(TOKEN_TAG, value=self.name)
        return OpenPixelNode(stream.current)


class RenderEnvironment(sandbox.SandboxEnvironment):
    """The sandbox plus the two internal tags link tracking inserts; user
    templates are parsed and checked with the plain sandbox, which lacks them."""

    def __init__(self) -> None:
        super().__init__()
        self.add_tag(TrackTag)
        self.add_tag(OpenPixelTag)


RENDER_ENV = RenderEnvironment()


# -- compiled fields ----------------------------------------------------------------------------------


def _walk(nodes, static_context):
    for node in nodes:
        yield node
        yield from _walk(node.children(static_context, include_partials=False), static_context)


def _is_stateful(template: BoundTemplate) -> bool:
    static_context = RenderContext(template)
    for node in _walk(template.nodes, static_context):
        value = node.token.value if node.token.kind == TOKEN_TAG else ""
        if value in _STATEFUL_TAGS or list(node.template_scope()):
            return True
        if value == "for" and "continue" in str(node):
            return True
    return False


def _roots(template: BoundTemplate, node: Node) -> frozenset[str] | None:
    """The root names a node reads (None when it cannot tell, or when the node
    holds tracked links, which differ per recipient)."""
    if any(isinstance(n, (TrackNode, OpenPixelNode)) for n in _walk([node], RenderContext(template))):
        return None
    try:
        single = template.env.template_class(env=template.env, nodes=[node], globals=template.globals)
        analysis = single.analyze(include_partials=False)
    except LiquidError:
        return None
    if analysis.locals:
        return None
    return frozenset(analysis.globals)


class CompiledField:
    """One Liquid field (subject, html...) of one template version, ready for many renders."""

    def __init__(self, source: str, env=RENDER_ENV):
        self.source = source
        self.constant: str | None = None
        self.ops: list = []
        if "{{" not in source and "{%" not in source:
            self.constant = source
            return
        self.template = template = sandbox.parse(source, env)
        self.stateful = _is_stateful(template)
        roots = []
        for node in template.nodes:
            if isinstance(node, TrackNode):
                roots.append(_roots(template, BlockNode(node.token, node.block.nodes)))
            elif not isinstance(node, ContentNode):
                roots.append(_roots(template, node))
            else:
                roots.append(frozenset())
        static_context = RenderContext(template)
        for node in list(_walk(template.nodes, static_context)):
            for expression in node.expressions():
                _speed_up(expression, env=env)
        for node in template.nodes:
            _fast_blocks(node)
        ops: list = []
        for node, node_roots in zip(template.nodes, roots):
            if isinstance(node, ContentNode):
                if ops and ops[-1][0].__class__ is str:
                    ops[-1] = (ops[-1][0] + node.text, frozenset())
                else:
                    ops.append((node.text, frozenset()))
            elif isinstance(node, TrackNode) and node.static_url is not None:
                ops.append((StaticLink(node.link, node.static_url), None))
            elif type(node) is OutputNode:
                ops.append((_output_op(node.expression), node_roots))
            else:
                ops.append((node, node_roots))
        self.ops = ops

    def bind(self, batch_namespace: dict) -> BoundField:
        """The field for one batch: operations that read only batch-constant
        values are evaluated now, with `batch_namespace`."""
        if self.constant is not None:
            return BoundField(self, [self.constant])
        folded: list = []
        context = None if self.stateful else FastContext(self.template, globals=dict(batch_namespace))
        for op, roots in self.ops:
            if context is not None and roots is not None and roots <= BATCH_ROOTS and op.__class__ is not str:
                try:
                    if isinstance(op, TrackNode):
                        buffer = _Collector()
                        op.block.render(context, buffer)
                        op = StaticLink(op.link, buffer.getvalue())
                    else:
                        op = _render_op(op, context)
                except (LiquidError, LiquidInterrupt):
                    pass  # left for each recipient, where the error is reported
            if op.__class__ is str and folded and folded[-1].__class__ is str:
                folded[-1] += op
            else:
                folded.append(op)
        return BoundField(self, folded)


def _render_op(op, context) -> str:
    if op.__class__ is str:
        return op
    if op.__class__ is FilteredExpression or op.__class__ is FastPath:
        return _text(op.evaluate(context))
    buffer = _Collector()
    op.render(context, buffer)
    return buffer.getvalue()


class BoundField:
    __slots__ = ("field", "ops", "_context", "_globals")

    def __init__(self, field: CompiledField, ops: list):
        self.field = field
        self.ops = ops
        self._context: FastContext | None = None
        self._globals: dict = {}

    @property
    def constant(self) -> str | None:
        return self.ops[0] if len(self.ops) == 1 and self.ops[0].__class__ is str else None

    def render(self, namespace: dict) -> str:
        """The field for one recipient; LiquidError when the template fails."""
        ops = self.ops
        if len(ops) == 1 and ops[0].__class__ is str:
            return ops[0]
        context = self._context
        if context is None or self.field.stateful:
            self._globals = dict(namespace)
            context = FastContext(self.field.template, globals=self._globals)
            self._context = context
        else:
            self._globals.update(namespace)
        out: list[str] = []
        append = out.append
        try:
            for op in ops:
                cls = op.__class__
                if cls is str:
                    append(op)
                elif cls is FastPath or cls is FilteredExpression:
                    value = op.evaluate(context)
                    append(value if value.__class__ is str else to_liquid_string(value, False))
                elif cls is StaticLink:
                    links = namespace.get(LINKS_KEY)
                    append(links.static_href(op) if links is not None and op.part is not None else op.url)
                elif cls is IfNode or cls is UnlessNode:
                    _emit_branch(op, context, out)
                else:
                    buffer = _Collector()
                    op.render(context, buffer)
                    append(buffer.getvalue())
        except LiquidInterrupt as interrupt:  # break/continue outside a loop, as python-liquid reports it
            self._context = None
            raise LiquidSyntaxError(f"unexpected '{interrupt}'", token=getattr(op, "token", None)) from None
        except LiquidError as error:
            self._context = None  # a failed render may leave loop state behind
            if error.token is None:  # as python-liquid does: the top-level node's position
                error.token = getattr(op, "token", None)
            raise
        except BaseException:
            self._context = None
            raise
        text = "".join(out)
        if len(text) * 4 > sandbox.OUTPUT_LIMIT and len(text.encode()) > sandbox.OUTPUT_LIMIT:
            raise OutputStreamLimitError("output stream limit reached", token=None)
        return text


def reference_render(source: str, namespace: dict, env=RENDER_ENV) -> str:
    """The same field rendered the plain python-liquid way (tests compare)."""
    return sandbox.parse(source, env).render(**namespace)


# -- link tracking: rewriting ---------------------------------------------------------------------------

_ANCHOR_HREF = re.compile(r"(<a\b[^>]*?\bhref\s*=\s*)(\"([^\"]*)\"|'([^']*)')", re.I | re.S)
_VERBATIM = re.compile(r"\{%-?\s*(raw|comment)\s*-?%\}.*?\{%-?\s*end\1\s*-?%\}", re.S)
_BODY_END = re.compile(r"</body\s*>", re.I)


def _trackable(href: str, tag_text: str) -> bool:
    if "data-mkt-notrack" in tag_text:
        return False
    if "{{" in href or "{%" in href:
        return "unsubscribe_url" not in href and "view_in_browser_url" not in href
    return bool(re.match(r"\s*https?://", href, re.I))


def add_tracking(html: str) -> tuple[str, int]:
    """The HTML template with every trackable link wrapped for click tracking and
    the open pixel before `</body>`; and the number of links wrapped."""
    verbatim = [m.span() for m in _VERBATIM.finditer(html)]
    count = 0

    def wrap(match: re.Match) -> str:
        nonlocal count
        if any(start <= match.start() < end for start, end in verbatim):
            return match.group(0)
        href = match.group(3) if match.group(3) is not None else match.group(4)
        tag_end = html.find(">", match.end())
        if not _trackable(href, html[match.start():tag_end + 1 if tag_end >= 0 else len(html)]):
            return match.group(0)
        count += 1
        quote_char = match.group(2)[0]
        return f"{match.group(1)}{quote_char}{{% mkt_track l{count} %}}{href}{{% endmkt_track %}}{quote_char}"

    tracked = _ANCHOR_HREF.sub(wrap, html)
    ends = list(_BODY_END.finditer(tracked))
    if ends:
        at = ends[-1].start()
        tracked = tracked[:at] + "{% mkt_open %}" + tracked[at:]
    else:
        tracked += "{% mkt_open %}"
    return tracked, count


def quote_url(url: str) -> str:
    return quote(url, safe="")


def unescape_href(written: str) -> str:
    return html_lib.unescape(written).strip()

