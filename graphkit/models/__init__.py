"""``gk.models``: Model, Sequential and (de)serialization helpers."""
from .functional import Functional
from .model import Model
from .sequential import Sequential

__all__ = ["Functional", "Model", "Sequential"]
