"""``gk.Model``: a layer made of layers — functional (inputs/outputs) or subclassed (call)."""
from __future__ import annotations

from typing import Any

from ..layers.layer import Layer
from ..module import _leaves
from ..training.trainer import TRAINER_ATTRIBUTES, Trainer


class Model(Trainer, Layer):
    """A trainable stack of layers.

    ``gk.Model(inputs, outputs)`` builds a Functional model from symbolic tensors; subclassing
    ``gk.Model`` and writing ``call`` gives a subclassed model. Both are layers, so models nest.
    """

    _TRACKING_IGNORED = Layer._TRACKING_IGNORED | TRAINER_ATTRIBUTES

    def __new__(cls, *args: Any, **kwargs: Any):
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            from .functional import Functional
            return Functional.__new__(Functional)
        return super().__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args or "inputs" in kwargs:
            from .functional import Functional
            if not isinstance(self, Functional):
                raise TypeError("Pass inputs/outputs to gk.Model(...) itself or to a Functional subclass.")
        super().__init__(**kwargs)

    @property
    def _functional(self) -> Any:
        """The Functional graph that runs this model, read by the trainer for what is known
        without running it (output names, input dtypes and keys): None for a subclassed model.
        Functional returns itself; Sequential the graph it builds once its input shape is known."""
        return None

    @property
    def layers(self) -> list[Layer]:
        """The model's direct sublayers, in the order they were assigned."""
        found = []
        for _, value in self._tracked_attributes():
            for leaf in _leaves(value):
                if isinstance(leaf, Layer) and all(leaf is not f for f in found):
                    found.append(leaf)
        return found

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A sublayer by name or by index in ``layers``."""
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"Model '{self.name}' has {len(layers)} layers; index {index} is out of range.")
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No layer named {name!r} in model '{self.name}'; layers: {[l.name for l in layers]}.")

    # ------------------------------------------------------ summary and config
    def summary(self, line_length: int | None = None, positions: Any = None, print_fn: Any = None,
                expand_nested: bool = False, show_trainable: bool = False, layer_range: Any = None) -> None:
        """Print Keras 3's summary table (see graphkit.models.summary for the exact format).

        ``print_fn``, when given, is called once with the whole summary text, as in Keras 3.
        """
        from .summary import print_summary
        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable, layer_range=layer_range)

    def _repr_html_(self) -> str:
        from .summary import summary_html
        return summary_html(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        """Notebook display: the HTML summary followed by the layer graph (SVG via graphviz's
        ``dot`` when installed), the text summary as the plain-text fallback and, once built, the
        graph JSON (``application/vnd.graphkit.graph+json``) that graphkit's JupyterLab extension
        draws in the browser with no ``dot`` needed. The pictures come from the display hooks
        that graphkit.viz registers (graphkit.display)."""
        from ..display import extend_display
        from .summary import format_summary
        bundle = {"text/html": self._repr_html_(), "text/plain": format_summary(self)}
        return extend_display(self, bundle) if self.built else bundle

    def to_json(self, **kwargs: Any) -> str:
        """The model's full config as JSON (``gk.models.model_from_json`` reads it back)."""
        from ..saving.serialization import to_json
        return to_json(self, **kwargs)

    # ---------------------------------------------------------------- saving
    def save(self, filepath: Any, overwrite: bool = True, **kwargs: Any) -> str:
        """Save config, weights and optimizer state to a ``.gk`` zip (graphkit's archive) or a
        ``.keras`` file (Keras 3's, which Keras loads), atomically (``gk.models.load_model`` reads
        both back; see graphkit.saving.saving_api)."""
        from ..saving.saving_api import save_model
        return save_model(self, filepath, overwrite=overwrite, **kwargs)

    def save_weights(self, filepath: Any, overwrite: bool = True) -> str:
        """Save the weights (and optimizer state) to ``*.weights.npz`` or Keras 3's ``*.weights.h5``."""
        from ..saving.saving_api import save_weights
        return save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath: Any, skip_mismatch: bool = False, **kwargs: Any) -> None:
        """Load ``*.weights.npz``, ``*.weights.h5`` (Keras 3's too) or a ``.gk``/``.keras`` file's
        weights; a mismatch raises and changes nothing."""
        from ..saving.saving_api import load_weights
        load_weights(self, filepath, skip_mismatch=skip_mismatch, **kwargs)

    def export(self, filepath: Any, format: str = "onnx", verbose: bool = False,
               opset_version: int | None = None) -> str:
        """Export for inference elsewhere (Keras 3's ``Model.export``): ``format="onnx"`` writes
        an ONNX model (opset 18 unless ``opset_version``, a dynamic batch dimension, the model's
        input and output names) that ONNX Runtime runs with this model's predictions. Functional
        and Sequential models of built-in layers; a layer that cannot be exported raises an error
        naming it, and nothing is written (see graphkit.export.onnx). ``verbose`` prints where
        the file went."""
        from ..export import DEFAULT_OPSET, export_model
        path = export_model(self, filepath, format=format,
                            opset=DEFAULT_OPSET if opset_version is None else opset_version)
        if verbose:
            print(f"Saved artifact at '{path}'.")
        return path

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "Model":
        """A model from ``get_config()`` output: Functional and Sequential configs (or a full
        ``{"class_name", "config", ...}`` dict); custom layers come from ``custom_objects`` or
        ``gk.saving.register_serializable``."""
        from ..saving.serialization import model_from_config
        return model_from_config(cls, config, custom_objects)

