"""One server interceptor for every service: it decodes requests itself (so an
undecodable request answers INVALID_ARGUMENT, not INTERNAL), checks the caller's role
for the method and workspace (svc_kit.authz), then enforces the
protos' validation rules on them (svc_kit.validation: INVALID_ARGUMENT with
field violations before the servicer runs), opens the server
span from the caller's W3C trace context, maps ServiceError to a status with
google.rpc details, hides unexpected exceptions behind INTERNAL, and records
the conventional gRPC server metrics. For every write or admin call (svc_kit.authz's
role table) it hands an audit record (svc_kit.audit) to the server's audit sink
before the response leaves."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import AsyncIterator, Callable

import grpc
from grpc_status import rpc_status
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from svc_kit.audit import AuditRecord, build_record, is_audited
from svc_kit.authz import IDENTITY_HEADER, Identity, MalformedIdentity, authorize, decode_identity, workspace_of
from svc_kit.errors import MalformedRequest, PermissionDenied, ServiceError, Unimplemented
from svc_kit.grpc_status import internal_status, status_of
from svc_kit.metrics import GrpcServerMetrics
from svc_kit.clock import utcnow
from svc_kit.trace_context import extract_context
from svc_kit.validation import check_request

log = logging.getLogger("svc_kit.rpc")
AuditSink = Callable[[AuditRecord], None]
_tracer = trace.get_tracer("svc_kit.grpc.server")


def _as_status_code(code) -> grpc.StatusCode:
    if isinstance(code, grpc.StatusCode):
        return code
    for candidate in grpc.StatusCode:
        if candidate.value[0] == code:
            return candidate
    return grpc.StatusCode.UNKNOWN


class _Method:
    """Per-method constants, resolved once: names, span attributes, metric children."""

    def __init__(self, metrics: GrpcServerMetrics, method: str, grpc_type: str):
        self.full_name = method.lstrip("/")
        self.service, _, self.method = self.full_name.partition("/")
        labels = (grpc_type, self.service, self.method)
        self.attributes = {"rpc.system": "grpc", "rpc.service": self.service, "rpc.method": self.method}
        self.started = metrics.started.labels(*labels)
        self.latency = metrics.handling_seconds.labels(*labels)
        self._handled_metric = metrics.handled
        self._labels = labels
        self._handled: dict[grpc.StatusCode, object] = {}

    def handled(self, code: grpc.StatusCode):
        child = self._handled.get(code)
        if child is None:
            child = self._handled[code] = self._handled_metric.labels(*self._labels, code.name)
        return child


class _Call:
    """Bookkeeping for one RPC: span, metrics and the error-to-status mapping."""

    def __init__(self, method: _Method, context):
        self.info = method
        self.context = context
        self.service, self.method = method.service, method.method
        self.code = grpc.StatusCode.OK
        self.start = time.perf_counter()
        method.started.inc()
        self.span_cm = _tracer.start_as_current_span(
            method.full_name,
            context=extract_context(context.invocation_metadata()),
            kind=trace.SpanKind.SERVER,
            attributes=method.attributes,
        )

    def __enter__(self):
        self.span = self.span_cm.__enter__()
        return self

    def __exit__(self, *exc):
        self.span.set_attribute("rpc.grpc.status_code", self.code.value[0])
        if self.code is not grpc.StatusCode.OK:
            self.span.set_status(Status(StatusCode.ERROR, self.code.name))
        self.span_cm.__exit__(*exc)
        self.info.handled(self.code).inc()
        self.info.latency.observe(time.perf_counter() - self.start)
        return False

    async def fail(self, error: BaseException):
        """Aborts the call with the status that `error` stands for."""
        if isinstance(error, grpc.aio.AbortError):
            self.code = _as_status_code(self.context.code())
            raise error
        if isinstance(error, asyncio.CancelledError):
            self.code = grpc.StatusCode.CANCELLED
            raise error
        if isinstance(error, NotImplementedError):
            error = Unimplemented(f"{self.service}/{self.method} is not implemented in this release")
        if isinstance(error, ServiceError):
            status = status_of(error)
        else:
            log.error("unhandled error in %s/%s", self.service, self.method, exc_info=error)
            self.span.record_exception(error)
            status = internal_status()
        self.code = _as_status_code(status.code)
        converted = rpc_status.to_status(status)
        await self.context.abort(converted.code, converted.details, converted.trailing_metadata)


def _identity(context) -> Identity | None:
    """The principal the edge verified, or None for a call from inside the mesh (no header)."""
    for key, value in context.invocation_metadata() or ():
        if key == IDENTITY_HEADER:
            try:
                return decode_identity(value if isinstance(value, str) else value.decode())
            except (MalformedIdentity, UnicodeDecodeError) as error:
                raise PermissionDenied(str(error)) from None
    return None


def _workspaces(message, depth: int = 0):
    """Workspaces named by the request: its string fields holding resource names
    (`name`, `parent`, references, repeated names), and one level into messages."""
    if not hasattr(message, "ListFields"):
        return
    for descriptor, value in message.ListFields():
        if descriptor.type == descriptor.TYPE_STRING:
            values = value if descriptor.is_repeated else (value,)
            for item in values:
                if (workspace := workspace_of(item)) is not None:
                    yield workspace
        elif descriptor.type == descriptor.TYPE_MESSAGE and depth == 0 and not (
                descriptor.message_type.GetOptions().map_entry):
            values = value if descriptor.is_repeated else (value,)
            for item in values:
                yield from _workspaces(item, depth + 1)


def _check(info: "_Method", context, request) -> None:
    """Who may call first (a principal without the right learns nothing about its input), then the
    request against its proto's validation rules."""
    identity = _identity(context)
    if identity is not None:
        authorize(identity, info.service, info.method, _workspaces(request))
    check_request(request)


def _decoder(deserializer: Callable | None) -> Callable:
    if deserializer is None:
        return lambda raw: raw

    def decode(raw: bytes):
        try:
            request = deserializer(raw)
        except Exception:
            raise MalformedRequest("the request could not be decoded as the method's message") from None
        return request

    return decode


class ServerInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, metrics: GrpcServerMetrics, audit: AuditSink | None = None):
        self.metrics = metrics
        self.audit = audit
        self._wrapped: dict[tuple[str, int], grpc.RpcMethodHandler] = {}

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        key = (handler_call_details.method, id(handler))
        wrapped = self._wrapped.get(key)
        if wrapped is None:
            wrapped = self._wrapped[key] = self._wrap(handler_call_details.method, handler)
        return wrapped

    def _wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        decode = _decoder(handler.request_deserializer)
        metrics = self.metrics
        serializer = handler.response_serializer

        if handler.unary_unary:
            behavior = handler.unary_unary
            info = _Method(metrics, method, "unary")
            audit = self.audit if self.audit is not None and is_audited(info.method) else None

            async def unary_unary(raw, context):
                with _Call(info, context) as call:
                    request = response = None
                    try:
                        request = decode(raw)
                        _check(info, context, request)
                        response = await _resolve(behavior(request, context))
                    except BaseException as error:  # noqa: BLE001 - mapped, never swallowed
                        if audit is not None and request is not None:
                            await _audit(audit, info, context, request, None, _code_of(error, context))
                        await call.fail(error)
                    if audit is not None:
                        await _audit(audit, info, context, request, response, grpc.StatusCode.OK)
                    return response

            return grpc.unary_unary_rpc_method_handler(unary_unary, response_serializer=serializer)

        if handler.unary_stream:
            behavior = handler.unary_stream
            info = _Method(metrics, method, "server_stream")

            async def unary_stream(raw, context):
                with _Call(info, context) as call:
                    try:
                        request = decode(raw)
                        _check(info, context, request)
                        async for response in _aiter(behavior(request, context)):
                            yield response
                    except BaseException as error:  # noqa: BLE001
                        await call.fail(error)

            return grpc.unary_stream_rpc_method_handler(unary_stream, response_serializer=serializer)

        if handler.stream_unary:
            behavior = handler.stream_unary
            info = _Method(metrics, method, "client_stream")

            async def stream_unary(raw_iterator, context):
                with _Call(info, context) as call:
                    try:
                        return await _resolve(behavior(_decoded(raw_iterator, decode, info, context), context))
                    except BaseException as error:  # noqa: BLE001
                        await call.fail(error)

            return grpc.stream_unary_rpc_method_handler(stream_unary, response_serializer=serializer)

        behavior = handler.stream_stream
        info = _Method(metrics, method, "bidi_stream")

        async def stream_stream(raw_iterator, context):
            with _Call(info, context) as call:
                try:
                    async for response in _aiter(behavior(_decoded(raw_iterator, decode, info, context), context)):
                        yield response
                except BaseException as error:  # noqa: BLE001
                    await call.fail(error)

        return grpc.stream_stream_rpc_method_handler(stream_stream, response_serializer=serializer)


def _code_of(error: BaseException, context) -> grpc.StatusCode:
    if isinstance(error, ServiceError):
        return _as_status_code(status_of(error).code)
    if isinstance(error, grpc.aio.AbortError):
        return _as_status_code(context.code())
    if isinstance(error, asyncio.CancelledError):
        return grpc.StatusCode.CANCELLED
    return grpc.StatusCode.INTERNAL


async def _audit(sink: AuditSink, info: "_Method", context, request, response, code: grpc.StatusCode) -> None:
    """Hands the call's audit record to the sink (off the event loop). A sink that fails is
    logged, never turned into the call's error: the change itself is already committed."""
    try:
        identity = _identity(context)
    except PermissionDenied:
        identity = None
    record = build_record(service=info.service, method=info.method, identity=identity, request=request,
                          response=response, status=code.name, time=utcnow(),
                          metadata=context.invocation_metadata() or (), peer=context.peer() or "")
    if record is None:
        return
    try:
        await asyncio.to_thread(sink, record)
    except Exception:  # noqa: BLE001 - logged with the record; the call's outcome stands
        log.exception("audit record not written: %s", record.as_dict())


async def _resolve(result):
    return await result if inspect.isawaitable(result) else result


async def _decoded(raw_iterator: AsyncIterator[bytes], decode: Callable, info: "_Method", context) -> AsyncIterator:
    """Each streamed request is decoded and checked like a unary one."""
    async for raw in raw_iterator:
        request = decode(raw)
        _check(info, context, request)
        yield request


async def _aiter(result) -> AsyncIterator:
    """Servicer streaming methods may be async generators or return iterables."""
    if asyncio.iscoroutine(result):
        result = await result
    if hasattr(result, "__aiter__"):
        async for item in result:
            yield item
    elif result is not None:
        for item in result:
            yield item
