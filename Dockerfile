# emu itself in a container, driving the Docker engine whose socket it is given (see docker-compose.yml).
ARG BASE=python:3.12-slim
FROM ${BASE}
WORKDIR /opt/emu
COPY pyproject.toml README.md ./
COPY emulator emulator
COPY providers providers
RUN pip install --no-cache-dir .
ENV PYTHONUNBUFFERED=1
ENTRYPOINT ["emu"]
CMD ["up", "--help"]
