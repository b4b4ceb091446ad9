"""A real JupyterLab server for browser tests: started on 127.0.0.1 in a temporary root folder,
with its own config/runtime folders, and stopped (with its kernels) afterwards."""
from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LabServer:
    """``jupyter lab`` serving ``root_dir``; ``url(path)`` gives a tokenized address.

    ``extra_args`` go to the server (e.g. kernel restrictions); ``env`` is merged into the
    server's (and so its kernels') environment; ``app="notebook"`` serves Jupyter Notebook 7."""

    def __init__(self, root_dir: str, work_dir: str, extra_args: tuple = (), env: dict | None = None,
                 app: str = "jupyterlab") -> None:
        self.root_dir = root_dir
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        environment = dict(os.environ)
        environment.update({
            "JUPYTER_CONFIG_DIR": os.path.join(work_dir, "config"),
            "JUPYTER_RUNTIME_DIR": os.path.join(work_dir, "runtime"),
            "JUPYTERLAB_SETTINGS_DIR": os.path.join(work_dir, "lab-settings"),
            "JUPYTERLAB_WORKSPACES_DIR": os.path.join(work_dir, "lab-workspaces"),
            # kernels run this interpreter (the kernelspec's argv starts with `python`)
            "PATH": os.path.dirname(sys.executable) + os.pathsep + environment.get("PATH", ""),
        })
        environment.update(env or {})
        # no "get notified about Jupyter news?" toast over the page
        news = os.path.join(work_dir, "lab-settings", "@jupyterlab", "apputils-extension")
        os.makedirs(news, exist_ok=True)
        with open(os.path.join(news, "notification.jupyterlab-settings"), "w") as handle:
            json.dump({"fetchNews": "false", "checkForUpdates": False}, handle)
        self._log = open(os.path.join(work_dir, f"lab-{self.port}.log"), "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", app, "--no-browser", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
             f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={root_dir}",
             "--LabApp.expose_app_in_browser=True", *(["--allow-root"] if os.geteuid() == 0 else []), *extra_args],
            stdout=self._log, stderr=subprocess.STDOUT, env=environment)
        self._wait_ready()

    def url(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}?token={self.token}"

    def api(self, path: str, method: str = "GET") -> object:
        request = urllib.request.Request(f"{self.base}/api/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def log(self) -> str:
        self._log.flush()
        with open(self._log.name, "rb") as handle:
            return handle.read().decode("utf-8", "replace")[-4000:]

    def _wait_ready(self, limit: float = 90.0) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with status {self.process.returncode}:\n{self.log()}")
            try:
                self.api("status")
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"jupyter lab did not answer on {self.base} within {limit:.0f} s:\n{self.log()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
