"""The agent as a Sparkplug B 3.0 edge node: `metrics` (tags as metrics), `node_state` (the
sans-I/O edge node), `bdseq` (the birth/death sequence on disk) and `node` (the MQTT adapter)."""
