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
# a fixed uid, so that a key mounted from the host can be given to it (chown 10001 pki/mes.key)
RUN pip install --no-cache-dir . \
    && useradd --system --uid 10001 --home /var/lib/shopfloor shopfloor \
    && mkdir -p /var/lib/shopfloor && chown shopfloor /var/lib/shopfloor \
    && chmod 0750 /var/lib/shopfloor
USER shopfloor
WORKDIR /var/lib/shopfloor
ENTRYPOINT ["shopfloor"]
