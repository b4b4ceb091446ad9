"""The numba kernels are cached on disk (only a machine's first run compiles them), and where no
cache folder is writable they still import and run, compiled per process."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from numba_compare import requires_numba

pytestmark = requires_numba

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _kernels():
    from numba.core.registry import CPUDispatcher

    from graphkit.backend import numba_kernels
    return {name: value for name, value in vars(numba_kernels).items() if isinstance(value, CPUDispatcher)}


def test_every_kernel_has_an_on_disk_cache():
    kernels = _kernels()
    assert len(kernels) >= 8
    assert {name: bool(kernel.stats.cache_path) for name, kernel in kernels.items()} == dict.fromkeys(kernels, True)


def test_without_a_writable_cache_folder_the_kernels_still_import_and_run():
    # ZipCacheLocator alone finds no cache folder for a plain source file, which is what numba
    # meets when the package folder and the user's cache folder are both read-only.
    probe = textwrap.dedent("""
        import numpy as np
        from numba.core.registry import CPUDispatcher
        from graphkit.backend import numba_kernels
        kernels = [k for k in vars(numba_kernels).values() if isinstance(k, CPUDispatcher)]
        assert kernels and all(k.stats.cache_path is None for k in kernels)
        x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
        y, arg = np.empty((1, 2, 2, 1), np.float32), np.empty((1, 2, 2, 1), np.int8)
        numba_kernels.max_pool_2d(x, y, arg, 2, 2, 2, 2)
        print(y.ravel().tolist())
    """)
    env = dict(os.environ, NUMBA_CACHE_LOCATOR_CLASSES="ZipCacheLocator")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[5.0, 7.0, 13.0, 15.0]"
