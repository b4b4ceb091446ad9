"""``gk.summary.experimental``: the default step, as in ``tf.summary.experimental``."""
from .context import get_step, set_step

__all__ = ["get_step", "set_step"]
