"""The Mosquitto ACL of a plant file: `shopfloor config acl -c plant.yaml`.

The same grants as config/mosquitto.acl.example, written for the plant file's enterprise and
site, with the edge agent's block listing exactly the devices of the file (its user is its
`edge.agent_id`). Each plant file describes one agent: concatenate the agent blocks of several
files, or run it per file and merge by hand."""

from pathlib import Path

import typer

from config.plant import PlantConfig
from uns.sparkplug.settings import group_of, node_of
from uns.sparkplug.topics import NAMESPACE, state_topic
from uns.topics import Namespace


def acl_for(cfg: PlantConfig) -> str:
    ns = Namespace(cfg.plant.enterprise, cfg.plant.site)
    root, agent = ns.root, cfg.edge.agent_id
    lines = [
        f"# shopfloor: Mosquitto ACL for {root} (shopfloor config acl); users are denied",
        "# whatever is not granted here.",
        f"pattern write {root}/_edge/%u/_status",
        "",
        f"user {agent}",
    ]
    for dev in cfg.devices:
        topic = ns.device(dev.path, dev.name)
        lines += [
            f"topic write {topic}/+",
            f"topic write {ns.telemetry_compact(dev.path, dev.name)}",
            f"topic write {ns.cmd_result(dev.path, dev.name)}",
            f"topic read {ns.cmd_write(dev.path, dev.name)}",
        ]
    devices = f"{root}/+/+/+/+"
    lines += [
        "",
        "user mes",
        f"topic read {ns.erp_orders}",
        f"topic read {ns.erp_acks}",
        f"topic write {ns.erp_rejected}",
        f"topic write {ns.confirmations}",
        f"topic write {ns.alarms}",
        f"topic write {ns.holds}",
        f"topic write {ns.kpi}",
        f"topic write {ns.dead_letter}",
        f"topic read {devices}/_conditions",
        f"topic read {devices}/_telemetry",  # machine states for OEE (docs/performance.md)
        f"topic read {devices}/_telemetry/compact",
        f"topic read {devices}/_status",
        f"topic read {root}/_edge/+/_status",
        "",
        "user historian",
        f"topic read {ns.all_telemetry}",
        f"topic read $share/{cfg.historian.share_group}/{ns.all_telemetry}",
        f"topic read {ns.all_telemetry_compact}",
        f"topic read $share/{cfg.historian.share_group}/{ns.all_telemetry_compact}",
        f"topic read {ns.kpi}",
        f"topic read $share/{cfg.historian.share_group}/{ns.kpi}",
        "",
        "user erp",
        f"topic write {ns.erp_orders}",
        f"topic write {ns.erp_acks}",
        f"topic read {ns.erp_rejected}",
        f"topic read {ns.confirmations}",
        "",
        "user ops",
        f"topic write {devices}/_cmd/write",
        f"topic read {devices}/_cmd/result",
        "",
        "user viewer",
        f"topic read {root}/#",
    ]
    if "sparkplug_b" in cfg.edge.payloads:
        lines += sparkplug_grants(cfg)
    return "\n".join(lines) + "\n"


def sparkplug_grants(cfg: PlantConfig) -> list[str]:
    """The Sparkplug B topics of the plant's group (docs/northbound.md, "Sparkplug B"): the
    agent's node births, data and deaths out, its commands and the primary host's STATE in; the
    hosts read the group and may ask for a rebirth (NCMD); `ops` may send DCMD writes."""
    group, node = group_of(cfg), node_of(cfg)
    base = f"{NAMESPACE}/{group}"
    host = cfg.edge.sparkplug.primary_host_id
    lines = [
        "",
        "# Sparkplug B (edge.payloads has sparkplug_b): same users, the group's topics",
        f"user {cfg.edge.agent_id}",
        f"topic write {base}/NBIRTH/{node}",
        f"topic write {base}/NDEATH/{node}",
    ]
    lines += [f"topic write {base}/{kind}/{node}/+" for kind in ("DBIRTH", "DDATA", "DDEATH")]
    lines += [
        f"topic read {base}/NCMD/{node}",
        f"topic read {base}/DCMD/{node}/+",
    ]
    if host is not None:
        lines.append(f"topic read {state_topic(host)}")
    for user in ("mes", "historian"):
        lines += ["", f"user {user}", f"topic read {base}/#", f"topic write {base}/NCMD/+"]
        if user == "historian" and host is not None and cfg.historian.sparkplug_primary:
            lines.append(f"topic write {state_topic(host)}")
    lines += [
        "",
        "user ops",
        f"topic write {base}/DCMD/+/+",
        "",
        "user viewer",
        f"topic read {base}/#",
        f"topic read {NAMESPACE}/STATE/+",
    ]
    return lines


def acl_command(
    config: Path = typer.Option(..., "-c", "--config", help="plant YAML file"),
) -> None:
    """Print the broker ACL for this plant file (one user per service, the agent's devices)."""
    from config.loader import ConfigError, load_plant

    try:
        cfg = load_plant(config)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    typer.echo(acl_for(cfg), nl=False)
