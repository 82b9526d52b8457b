#!/bin/sh
# Make the two scoped InfluxDB tokens of a shopfloor deployment, once, after the first start:
#   docker compose up -d influxdb
#   docker compose exec influxdb sh /usr/local/bin/scoped-tokens.sh
# It prints INFLUX_WRITE_TOKEN (historian: write the telemetry bucket, nothing else) and
# INFLUX_READ_TOKEN (Grafana: read the telemetry bucket, nothing else) for the .env file.
# InfluxDB generates token values itself; they are shown here once. The container's own CLI
# configuration (made by the setup with the admin token) authorises the calls.
set -eu
ORG="${DOCKER_INFLUXDB_INIT_ORG:-shopfloor}"
BUCKET="${DOCKER_INFLUXDB_INIT_BUCKET:-telemetry}"
# the first "id" / "token" field of the CLI's (indented) JSON answer
field() { sed -n "s/.*\"$1\": *\"\([^\"]*\)\".*/\1/p" | head -n 1; }
BUCKET_ID="$(influx bucket list --org "$ORG" --name "$BUCKET" --json | field id)"
[ -n "$BUCKET_ID" ] || { echo "no bucket $BUCKET in org $ORG" >&2; exit 1; }
write_token="$(influx auth create --org "$ORG" --write-bucket "$BUCKET_ID" \
  --description "shopfloor historian: write $BUCKET" --json | field token)"
read_token="$(influx auth create --org "$ORG" --read-bucket "$BUCKET_ID" \
  --description "shopfloor grafana: read $BUCKET" --json | field token)"
echo "INFLUX_WRITE_TOKEN=$write_token"
echo "INFLUX_READ_TOKEN=$read_token"
