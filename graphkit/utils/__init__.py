"""``gk.utils``: training-history plots, progress bars, ``to_categorical`` and ``get_file``."""
from ..datasets._download import get_file
from .numerical import to_categorical
from .plotting import plot_history
from .progress import Progbar, ProgressWidget, in_notebook

__all__ = ["Progbar", "ProgressWidget", "get_file", "in_notebook", "plot_history", "to_categorical"]
