"""The model family of DESIGN.md §4: SSL encoder, layer aggregation, SI and SE heads, and the
four assembled models (``si``, ``se``, ``cascade``, ``joint``)."""

from sitool.models.config import ModelConfig
from sitool.models.model import InversionModel, build_model

__all__ = ["ModelConfig", "InversionModel", "build_model"]
