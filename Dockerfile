# claude-slack-bot: a slim image running as a non-root user; data (embedded Redis) in /data.
# Dependencies are exactly uv.lock's (hash-checked); the bot itself is installed non-editable.
FROM python:3.11-slim AS build
WORKDIR /src
COPY scripts/uv-requirements.txt scripts/
RUN python -m pip install --no-cache-dir --root-user-action=ignore --require-hashes --no-deps \
      -r scripts/uv-requirements.txt
ENV UV_PROJECT_ENVIRONMENT=/opt/venv UV_NO_CONFIG=1 UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --no-install-project --no-cache
COPY bot ./bot
RUN uv sync --locked --no-dev --no-editable --no-cache

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    BOT_DATA_DIR=/data \
    BOT_LOG_FORMAT=json
# git (and ssh for git@host: remotes) for /ask-code's bare, shallow checkouts
RUN apt-get update \
 && apt-get install -y --no-install-recommends git openssh-client \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 bot \
 && useradd --system --uid 10001 --gid bot --home-dir /nonexistent --shell /usr/sbin/nologin bot \
 && mkdir -p /data && chown bot:bot /data
COPY --from=build /opt/venv /opt/venv
USER 10001:10001
VOLUME ["/data"]
# With BOT_METRICS_PORT set: the metrics server's /healthz (Slack socket connected, Redis
# reachable). Without: healthy while the Socket Mode connection is up (a heartbeat file in /data).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["claude-slack-bot", "healthcheck", "--data-dir", "/data"]
ENTRYPOINT ["claude-slack-bot"]
