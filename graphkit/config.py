"""``gk.config``: process-wide settings (Keras 3's ``keras.config`` names)."""
from .utils.traceback_utils import (disable_traceback_filtering, enable_traceback_filtering,
                                    is_traceback_filtering_enabled)

__all__ = ["disable_traceback_filtering", "enable_traceback_filtering", "is_traceback_filtering_enabled"]
