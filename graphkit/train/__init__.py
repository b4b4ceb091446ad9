"""``gk.train``: object-based checkpoints, as ``tf.train``.

``Checkpoint(**objects)`` with ``write``/``save``/``read``/``restore``, ``latest_checkpoint``,
``list_variables``, ``load_variable`` and ``CheckpointManager``. Keys are object paths
(``model/layers/dense/kernel``, see :mod:`graphkit.train.object_graph`); files are zips of
``.npy`` arrays with a JSON index (:mod:`graphkit.saving.archive`), written atomically and read
without pickle.
"""
from ..saving.archive import FileFormatError
from .checkpoint import (Checkpoint, CheckpointLoadStatus, CheckpointManager, latest_checkpoint, list_variables,
                         load_variable)

__all__ = ["Checkpoint", "CheckpointLoadStatus", "CheckpointManager", "FileFormatError", "latest_checkpoint",
           "list_variables", "load_variable"]
