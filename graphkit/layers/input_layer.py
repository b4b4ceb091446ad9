"""``gk.Input`` and ``InputLayer``: where symbolic graphs start."""
from __future__ import annotations

from typing import Any, Sequence

from ..graph.node import Node
from ..graph.symbolic import SymbolicTensor
from .layer import Layer


class InputLayer(Layer):
    """The layer behind ``gk.Input``; its single node has no inputs."""

    def __init__(self, shape: Sequence[int] | None = None, batch_size: int | None = None, dtype: Any = None,
                 sparse: bool = False, batch_shape: Sequence[int] | None = None, name: str | None = None,
                 input_tensor: SymbolicTensor | None = None, **kwargs: Any) -> None:
        super().__init__(name=name, dtype=dtype, **kwargs)
        if batch_shape is None:
            if shape is None:
                raise ValueError("Input needs `shape` (without the batch dimension) or `batch_shape`.")
            if isinstance(shape, int):
                shape = (shape,)
            batch_shape = (batch_size, *shape)
        self.batch_shape = tuple(None if d is None else int(d) for d in batch_shape)
        self.sparse = sparse
        self.built = True
        if input_tensor is None:
            input_tensor = SymbolicTensor(self.batch_shape, dtype or "float32", name=self.name, sparse=sparse)
        self.output_dtype = input_tensor.dtype
        Node(self, (), {}, input_tensor)

    def call(self, inputs: Any) -> Any:
        return inputs

    def get_config(self) -> dict:
        return {"batch_shape": list(self.batch_shape), "dtype": str(self.output_dtype), "sparse": self.sparse,
                "name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> "InputLayer":
        config = dict(config)
        if "batch_input_shape" in config:
            config["batch_shape"] = config.pop("batch_input_shape")
        return cls(**config)


def Input(shape: Sequence[int] | None = None, batch_size: int | None = None, dtype: Any = "float32",
          sparse: bool = False, batch_shape: Sequence[int] | None = None, name: str | None = None,
          tensor: SymbolicTensor | None = None) -> SymbolicTensor:
    """A symbolic input of ``shape`` (batch dimension excluded, None where unknown)."""
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse, batch_shape=batch_shape,
                       name=name, input_tensor=tensor)
    return layer.output
