"""Sparkplug B 3.0, the parts both sides share: topics, data types, payload encoding and the
host's view of an edge node (births, aliases) that turns Sparkplug into the UNS contract."""
