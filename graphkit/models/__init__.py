"""``gk.models``: Model, Sequential and (de)serialization helpers."""
from typing import Any

from .functional import Functional
from .model import Model
from .sequential import Sequential


def model_from_json(json_string: str, custom_objects: dict | None = None) -> Any:
    """The model described by ``model.to_json()`` output (custom layers via ``custom_objects`` or
    ``gk.saving.register_serializable``)."""
    from ..saving.serialization import model_from_json as _from_json
    return _from_json(json_string, custom_objects)


def model_from_config(config: dict, custom_objects: dict | None = None) -> Any:
    """The model described by a full ``{"class_name", "config", ...}`` dict (or a model config)."""
    return Model.from_config(config, custom_objects=custom_objects)


__all__ = ["Functional", "Model", "Sequential", "model_from_config", "model_from_json"]
