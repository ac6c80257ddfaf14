FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY hub hub
COPY topics topics
COPY agents agents
COPY schemas schemas
RUN pip install --no-cache-dir .
USER nobody
ENTRYPOINT []
