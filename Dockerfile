# One image for every shopfloor service; the command picks the part (see docker-compose.yml).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY edge ./edge
COPY mes ./mes
COPY simulators ./simulators
COPY config ./config
COPY historian ./historian
COPY uns ./uns
RUN pip install --no-cache-dir . && useradd --system --home /var/lib/shopfloor shopfloor \
    && mkdir -p /var/lib/shopfloor && chown shopfloor /var/lib/shopfloor
USER shopfloor
WORKDIR /var/lib/shopfloor
ENTRYPOINT ["shopfloor"]
