"""``gk.saving``: Keras 3-style object configs and the registry of custom classes.

``register_serializable(package="Custom", name=None)`` registers a custom layer (or function)
under ``"package>name"`` so that ``gk.Model.from_config`` / ``gk.models.model_from_json`` find it
without ``custom_objects``.
"""
from .serialization import (CustomObjectScope, UnknownObjectError, custom_object_scope,
                            deserialize_keras_object, get_custom_objects, get_registered_name,
                            get_registered_object, register_keras_serializable, register_serializable,
                            serialize_keras_object)

__all__ = ["CustomObjectScope", "UnknownObjectError", "custom_object_scope", "deserialize_keras_object",
           "get_custom_objects", "get_registered_name", "get_registered_object", "register_keras_serializable",
           "register_serializable", "serialize_keras_object"]
