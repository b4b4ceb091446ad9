"""``gk.utils``: model pictures (``plot_model``, ``model_to_dot``), training-history plots, progress bars,
``to_categorical``, ``get_file`` and ``clear_session``."""
from ..datasets._download import get_file
from ..global_state import clear_session
from .numerical import to_categorical
from .model_visualization import model_to_dot, plot_model
from .plotting import plot_history
from .progress import Progbar, ProgressWidget, in_notebook

__all__ = ["Progbar", "ProgressWidget", "clear_session", "get_file", "in_notebook", "model_to_dot", "plot_history", "plot_model", "to_categorical"]
