"""The Sparkplug names a plant file gives (edge.sparkplug), read alike by edge and hosts."""

from config.plant import PlantConfig


def group_of(cfg: PlantConfig) -> str:
    """The Sparkplug group: `edge.sparkplug.group_id`, else the plant's site."""
    return cfg.edge.sparkplug.group_id or cfg.plant.site


def host_group(cfg: PlantConfig) -> str | None:
    """The group the plant's hosts (historian, MES) read, None when no agent speaks Sparkplug
    (`sparkplug_b` not in edge.payloads)."""
    return group_of(cfg) if "sparkplug_b" in cfg.edge.payloads else None


def node_of(cfg: PlantConfig) -> str:
    """The edge node id: `edge.sparkplug.edge_node_id`, else `edge.agent_id`."""
    return cfg.edge.sparkplug.edge_node_id or cfg.edge.agent_id
