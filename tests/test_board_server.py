"""The board server (`graphkit board --logdir DIR`) and the exported file (`--export out.html`):
routes, live polling, read-only, loopback by default, no file outside the log directory,
runs changing while it reads; the offline file is self-contained."""
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import warnings

import pytest

import graphkit as gk
from graphkit.__main__ import main
from graphkit.board import BoardServer, LogDir, build_payload, export_html
from graphkit.board import export as export_module
from graphkit.board import server as server_module
from board_logs import write_training_run

# A stand-in for the front-end bundle, in esbuild's shape, with the text an inline script must not carry.
FAKE_BUNDLE = ('const closing = "</script><script>alert(1)</script>", comment = "<!-- x";\n'
               'function e(element, source) { element.dataset.runs = String(source.payload.runs.length); }\n'
               'export{e as mountBoard};\n/*! license */\n')


@pytest.fixture
def logs(tmp_path):
    write_training_run(tmp_path / "logs", epochs=2)
    (tmp_path / "secret.txt").write_text("outside the logdir")
    return tmp_path / "logs"


@pytest.fixture
def served(logs):
    with BoardServer(logs, port=0) as server:
        server.start()
        yield server


@pytest.fixture
def fake_bundle(tmp_path, monkeypatch):
    path = tmp_path / "graphkit-board.js"
    path.write_text(FAKE_BUNDLE)
    monkeypatch.setattr(server_module, "BUNDLE", path)
    monkeypatch.setattr(export_module, "BUNDLE", path)
    return path


def request(server: BoardServer, path: str, method: str = "GET", headers: dict | None = None):
    """(status, body) of one request with ``path`` sent exactly as given."""
    host, port = server.httpd.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=30)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def get_json(server: BoardServer, path: str) -> dict:
    status, body = request(server, path)
    assert status == 200, body
    return json.loads(body)


def test_the_page_loads_the_bundle_and_mounts_it_on_the_payload_api(served, fake_bundle):
    status, page = request(served, "/")
    assert status == 200
    assert b'import { mountBoard } from "./static/graphkit-board.js"' in page and b'url: "."' in page
    assert request(served, "/static/graphkit-board.js") == (200, FAKE_BUNDLE.encode())
    assert request(served, "/static/graphkit-board.js", method="HEAD") == (200, b"")


def test_without_the_bundle_the_page_says_how_to_build_it(served, tmp_path, monkeypatch):
    monkeypatch.setattr(server_module, "BUNDLE", tmp_path / "missing" / "graphkit-board.js")
    status, page = request(served, "/")
    assert status == 200 and b'data-state="error"' in page and b"npm run build" in page and b"<script" not in page
    assert request(served, "/static/graphkit-board.js")[0] == 404


def test_the_payload_is_polled_by_token_and_follows_the_writer(served, logs):
    first = get_json(served, "/api/payload")
    assert first["live"] is True and [run["name"] for run in first["runs"]] == ["train", "validation"]
    assert get_json(served, f"/api/payload?since={first['token']}") == {"token": first["token"], "changed": False}
    writer = gk.summary.create_file_writer(str(logs / "train"))
    with writer.as_default(step=99):
        gk.summary.scalar("late_metric", 0.5)
    writer.flush()
    update = get_json(served, f"/api/payload?since={first['token']}")
    assert update["token"] != first["token"]
    assert "late_metric" in update["runs"][0]["scalars"]
    writer.close()


def test_files_under_the_logdir_are_served_and_nothing_outside(served, logs, tmp_path):
    status, body = request(served, "/api/file?path=train/graphkit-graph.json")
    assert status == 200 and json.loads(body)["title"] == "small"
    assert request(served, "/api/file?path=train/nothing.json")[0] == 404
    assert request(served, "/api/file?path=train")[0] == 404
    os.symlink(tmp_path / "secret.txt", logs / "train" / "link.txt")
    os.symlink(tmp_path, logs / "outside")
    attempts = ["../secret.txt", "%2e%2e/secret.txt", "%2e%2e%2fsecret.txt", "..%2Fsecret.txt",
                "%252e%252e%252fsecret.txt", "%252e%252e/secret.txt", "train/../../secret.txt",
                str(tmp_path / "secret.txt"), "%2F" + str(tmp_path / "secret.txt")[1:], "..%5csecret.txt",
                "train\\..\\..\\secret.txt", "train%5c..%5c..%5csecret.txt", "C:/secret.txt",
                "train/link.txt", "outside/secret.txt", "train/graphkit-graph.json%00"]
    for attempt in attempts:
        status, body = request(served, "/api/file?path=" + attempt)
        assert status == 403, (attempt, status, body)
        assert b"outside the logdir" not in body
    assert request(served, "/../secret.txt")[0] == 404 and request(served, "/api/file/../../secret.txt")[0] == 404


def test_it_is_read_only_and_answers_only_requests_for_localhost(served):
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        assert request(served, "/api/payload", method=method)[0] == 501
    assert request(served, "/api/payload", headers={"Host": "attacker.example:6006"})[0] == 403
    assert request(served, "/api/payload", headers={"Host": f"localhost:{served.httpd.server_address[1]}"})[0] == 200


def test_it_binds_loopback_by_default_and_warns_for_other_hosts(logs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with BoardServer(logs, port=0) as server:
            assert server.httpd.server_address[0] == "127.0.0.1" and server.url.startswith("http://127.0.0.1:")
    with pytest.warns(UserWarning, match="anyone who can reach this machine"):
        with BoardServer(logs, host="0.0.0.0", port=0) as server:
            assert server.httpd.server_address[0] == "0.0.0.0"


def test_it_keeps_serving_while_runs_appear_disappear_and_shrink(served, logs):
    stop = threading.Event()

    def churn():
        round_ = 0
        while not stop.is_set():
            run = logs / f"run{round_ % 3}"
            writer = gk.summary.create_file_writer(str(run))
            with writer.as_default(step=round_):
                gk.summary.scalar("loss", float(round_))
            writer.close()
            for name in os.listdir(run):
                with open(run / name, "r+b") as file:
                    file.truncate(os.path.getsize(run / name) // 2)
            if round_ % 2:
                shutil.rmtree(logs / f"run{(round_ + 1) % 3}", ignore_errors=True)
            round_ += 1

    thread = threading.Thread(target=churn)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)       # shrinking files are reported
        thread.start()
        try:
            tokens = {get_json(served, "/api/payload")["token"] for _ in range(40)}
        finally:
            stop.set()
            thread.join()
        final = get_json(served, "/api/payload")
    assert len(tokens) > 1
    assert {"train", "validation"} <= {run["name"] for run in final["runs"]}


def test_the_exported_file_is_self_contained(logs, tmp_path, fake_bundle, capsys):
    out = tmp_path / "board.html"
    assert main(["board", "--logdir", str(logs), "--export", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    document = out.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", document, re.IGNORECASE)
    assert document.lower().count("</script") == 2                 # the payload's and the module's own
    payload_text = re.search(r'<script type="application/json" id="graphkit-board-payload">(.*?)</script>',
                             document, re.DOTALL).group(1)
    payload = json.loads(payload_text)
    board = LogDir(logs)
    board.refresh()
    expected = json.loads(json.dumps(build_payload(board, embedded=True)))
    assert payload["runs"] == expected["runs"] and payload["live"] is False
    module = re.search(r'<script type="module">(.*?)</script>', document, re.DOTALL).group(1)
    assert "const graphkitBoard = {\"mountBoard\": e};" in module and "graphkitBoard.mountBoard(" in module
    assert r'"\x3C/script>\x3Cscript>alert(1)\x3C/script>"' in module and r'"\x3C!-- x"' in module


def test_export_without_the_bundle_says_how_to_build_it(logs, tmp_path, monkeypatch):
    monkeypatch.setattr(export_module, "BUNDLE", tmp_path / "missing.js")
    with pytest.raises(FileNotFoundError, match="npm ci && npm run build"):
        export_html(logs, tmp_path / "board.html")
    with pytest.raises(SystemExit) as exit_:
        main(["board", "--logdir", str(logs), "--export", str(tmp_path / "board.html")])
    assert exit_.value.code == 1 and not (tmp_path / "board.html").exists()


def test_the_command_serves_and_prints_its_url(logs):
    with subprocess.Popen([sys.executable, "-m", "graphkit", "board", "--logdir", str(logs), "--port", "0"],
                          stdout=subprocess.PIPE, text=True) as process:
        try:
            line = process.stdout.readline()
            url = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
            assert url, line
            connection = http.client.HTTPConnection("127.0.0.1", int(url.group(1)), timeout=30)
            connection.request("GET", "/api/payload")
            assert json.loads(connection.getresponse().read())["title"] == "logs"
            connection.close()
        finally:
            process.terminate()


def test_a_port_in_use_is_one_clear_error(served, logs, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["board", "--logdir", str(logs), "--port", str(served.httpd.server_address[1])])
    assert exit_.value.code == 1 and "pass another --port" in capsys.readouterr().err
