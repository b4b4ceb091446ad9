"""``gk.saved_model``: save traced ``gk.function`` graphs with their variables; load them without
the original Python class (see :mod:`graphkit.saved_model.saved_model`)."""
from __future__ import annotations

from .encoding import UnencodableAttrError
from .saved_model import LoadedFunction, LoadedModule, load, save

__all__ = ["LoadedFunction", "LoadedModule", "UnencodableAttrError", "load", "save"]
