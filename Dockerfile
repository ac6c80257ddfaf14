FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY hub hub
COPY topics topics
COPY agents agents
COPY schemas schemas
RUN pip install --no-cache-dir . \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin hub \
 && mkdir -p /data && chown hub:hub /data && chmod 0700 /data
# A named volume mounted on /data takes this directory's owner and mode on first use: the hub's own
# user writes it, nobody else reads it.
VOLUME /data
USER hub
ENTRYPOINT []
