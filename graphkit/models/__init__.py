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


def load_model(filepath: Any, custom_objects: dict | None = None, compile: bool = True,
               safe_mode: bool = True) -> Any:
    """The model ``model.save(filepath)`` wrote (``.gk``/``.keras``): config, weights and, with
    ``compile=True``, its compile settings and optimizer state. Lambda layers saved as code load
    only with ``safe_mode=False``; custom classes via ``custom_objects`` or
    ``gk.saving.register_serializable``."""
    from ..saving.saving_api import load_model as _load_model
    return _load_model(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)


def save_model(model: Any, filepath: Any, overwrite: bool = True, **kwargs: Any) -> str:
    """``model.save(filepath)``."""
    from ..saving.saving_api import save_model as _save_model
    return _save_model(model, filepath, overwrite=overwrite, **kwargs)


__all__ = ["Functional", "Model", "Sequential", "load_model", "model_from_config", "model_from_json", "save_model"]
