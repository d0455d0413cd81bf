# The demo app and `agentperf alerts` for docker-compose. deploy/ and grafana/ go into the wheel as data
# (the runbooks the alert printer serves, `python -m otel_agentperf.stack export`).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY otel_agentperf ./otel_agentperf
COPY deploy ./deploy
COPY grafana ./grafana
RUN pip install --no-cache-dir . && rm -rf /app/*
ENV PYTHONUNBUFFERED=1
CMD ["agentperf", "demo", "--duration", "86400", "--rate", "1", "--otlp", "http://otel-collector:4317"]
