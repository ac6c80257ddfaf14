# The main job in one image: the hub, its local Kafka 3.9.1 broker (a JVM; jars fetched from Maven Central
# at build time), the simulated agencies and a Prometheus, run by `python -m demo` exactly as `./dev up`
# runs them — secure by default (SASL/SCRAM + ACLs, a generated login per principal).
FROM python:3.11-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless maven prometheus \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY hub hub
COPY topics topics
COPY agents agents
COPY schemas schemas
COPY prometheus prometheus
# the main job and what it shares with the tests: not in the package, run from /app (python -m demo)
COPY demo demo
COPY support support
# editable: the alert rules in /app/prometheus sit next to the code that loads them (demo/prometheus.py)
RUN pip install --no-cache-dir -e . \
 && useradd --system --uid 10001 --create-home --shell /usr/sbin/nologin hub \
 && mkdir -p /data && chown hub:hub /data && chmod 0700 /data
USER hub
RUN interop-hub broker fetch
# A named volume mounted on /data takes this directory's owner and mode on first use: the hub's own
# user writes it, nobody else reads it.
VOLUME /data
ENTRYPOINT []
