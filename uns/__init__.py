"""The ISA-95 unified namespace: topic names and payload shapes from docs/contracts.md."""
