"""The symbolic graph: symbolic tensors and the nodes that layer calls record."""
from .node import Node, flatten_structure, map_structure
from .symbolic import SymbolicTensor, any_symbolic

__all__ = ["Node", "SymbolicTensor", "any_symbolic", "flatten_structure", "map_structure"]
