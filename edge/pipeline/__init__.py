"""Per-tag processing between the drivers and the northbound sink."""

from edge.pipeline.device import DevicePipeline
from edge.pipeline.processing import TagProcessor, TagRules

__all__ = ["DevicePipeline", "TagProcessor", "TagRules"]
