# The demo app and `agentperf alerts` for docker-compose.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY otel_agentperf ./otel_agentperf
RUN pip install --no-cache-dir .
ENV PYTHONUNBUFFERED=1
CMD ["agentperf", "demo", "--duration", "86400", "--rate", "1", "--otlp", "http://otel-collector:4317"]
