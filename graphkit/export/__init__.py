"""Exporting models for inference elsewhere: ``model.export(path, format="onnx")`` (Keras 3's API).

Only ONNX is written (:mod:`graphkit.export.onnx`); Keras's other formats (``"tf_saved_model"``,
``"openvino"``) need their own runtimes and raise a clear error.
"""
from __future__ import annotations

import os
from typing import Any

from .onnx import DEFAULT_OPSET, UnsupportedLayerError, export_onnx

FORMATS = ("onnx",)


def export_model(model: Any, filepath: str | os.PathLike, format: str = "onnx", opset: int = DEFAULT_OPSET) -> str:
    """Write ``model`` to ``filepath`` in ``format``; returns the path written."""
    if format not in FORMATS:
        raise ValueError(f"Cannot export model '{model.name}' as {format!r}: graphkit exports the formats "
                         f"{list(FORMATS)} (save a .keras file and export it with Keras for the others).")
    return export_onnx(model, filepath, opset=opset)


__all__ = ["DEFAULT_OPSET", "FORMATS", "UnsupportedLayerError", "export_model", "export_onnx"]
