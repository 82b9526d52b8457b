"""The Mosquitto ACL of a plant file: `shopfloor config acl -c plant.yaml`.

The same grants as config/mosquitto.acl.example, written for the plant file's enterprise and
site, with the edge agent's block listing exactly the devices of the file (its user is its
`edge.agent_id`). Each plant file describes one agent: concatenate the agent blocks of several
files, or run it per file and merge by hand."""

from pathlib import Path

import typer

from config.plant import PlantConfig
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
    return "\n".join(lines) + "\n"


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
