"""``gk.saving``: Keras 3-style object configs and the registry of custom classes.

``register_serializable(package="Custom", name=None)`` registers a custom layer (or function)
under ``"package>name"`` so that ``gk.Model.from_config`` / ``gk.models.model_from_json`` find it
without ``custom_objects``.

``save_model``/``load_model`` (whole models: ``.gk``/``.keras`` zips) and ``save_weights``/
``load_weights`` (``.weights.npz``, Keras 3's ``.weights.h5``) are in :mod:`graphkit.saving.saving_api`
(Keras 3's HDF5 layout in :mod:`graphkit.saving.keras_format`); checkpoints in ``gk.train``.
"""
from .archive import FileFormatError
from .code_serialization import SafeModeScope
from .saving_api import load_model, load_weights, save_model, save_weights
from .serialization import (CustomObjectScope, UnknownObjectError, custom_object_scope,
                            deserialize_keras_object, get_custom_objects, get_registered_name,
                            get_registered_object, register_keras_serializable, register_serializable,
                            serialize_keras_object)

__all__ = ["FileFormatError", "SafeModeScope", "load_model", "load_weights", "save_model", "save_weights",
           "CustomObjectScope", "UnknownObjectError", "custom_object_scope", "deserialize_keras_object",
           "get_custom_objects", "get_registered_name", "get_registered_object", "register_keras_serializable",
           "register_serializable", "serialize_keras_object"]
