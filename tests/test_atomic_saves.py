"""Saves leave nothing behind: the temporaries of writers killed mid-save are removed by the next
save of the same file, never one that a live process is still writing."""
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy
import pytest

import graphkit as gk
from graphkit.saving import atomic
from graphkit.saving.archive import read_variables, write_variables

pytestmark = pytest.mark.skipif(os.name != "posix", reason="kills processes and relies on flock")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _python(code: str, *args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], cwd=ROOT, text=True, **kwargs)


def _temporaries(directory) -> list[str]:
    return sorted(name for name in os.listdir(directory) if name.endswith(".tmp"))


def _ended_pid() -> int:
    process = _python("pass")
    process.wait()
    return process.pid


def _make_old(path) -> None:
    old = time.time() - 2 * atomic.STALE_AFTER_SECONDS
    os.utime(path, (old, old))


def test_a_writer_killed_mid_save_leaves_a_temporary_that_the_next_save_removes(tmp_path):
    target = tmp_path / "w.weights.npz"
    write_variables(target, {"a": numpy.zeros(3), "b": numpy.zeros(2)}, kind="weights")
    writer = _python("""
        import os, signal, sys, numpy
        from graphkit.saving import archive
        write_array = archive._write_array
        def write_then_die(zip_file, name, array):
            write_array(zip_file, name, array)
            os.kill(os.getpid(), signal.SIGKILL)
        archive._write_array = write_then_die
        archive.write_variables(sys.argv[1], {"a": numpy.ones(3), "b": numpy.ones(2)}, kind="weights")
    """, str(target))
    assert writer.wait(timeout=60) == -signal.SIGKILL
    (left,) = _temporaries(tmp_path)
    assert left.startswith(f".w.weights.npz.{writer.pid}.")
    numpy.testing.assert_array_equal(read_variables(target).arrays["a"], numpy.zeros(3))  # the old file

    write_variables(target, {"a": numpy.full(3, 2.0)}, kind="weights")
    assert _temporaries(tmp_path) == []
    numpy.testing.assert_array_equal(read_variables(target).arrays["a"], numpy.full(3, 2.0))


def test_a_temporary_that_a_live_writer_holds_is_kept_until_the_writer_is_gone(tmp_path):
    writer = _python("""
        import os, sys
        from graphkit.saving import atomic
        fd, tmp = atomic._create_temporary(sys.argv[1], "m.gk")
        print(tmp, flush=True)
        sys.stdin.readline()
        os._exit(0)  # gone without cleaning up, as after a crash
    """, str(tmp_path), stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        tmp = writer.stdout.readline().strip()
        _make_old(tmp)  # only the writer's lock says it is alive
        atomic.atomic_write(tmp_path / "m.gk", lambda handle: handle.write(b"first"))
        assert os.path.exists(tmp)
    finally:
        writer.communicate("\n", timeout=60)
    atomic.atomic_write(tmp_path / "m.gk", lambda handle: handle.write(b"second"))
    assert not os.path.exists(tmp)
    assert (tmp_path / "m.gk").read_bytes() == b"second"


def test_unlocked_temporaries_of_live_pids_and_old_style_names_go_only_when_old(tmp_path):
    live = os.getpid()  # alive, but nobody holds the file's lock: a reused pid
    names = {"fresh_live": f".m.gk.{live}.00112233aabb.tmp", "old_live": f".m.gk.{live}.44556677ccdd.tmp",
             "fresh_old_style": ".m.gk.8899aabbccdd.tmp", "old_old_style": ".m.gk.eeff00112233.tmp"}
    for key, name in names.items():
        (tmp_path / name).write_bytes(b"partial")
        if key.startswith("old"):
            _make_old(tmp_path / name)
    atomic.atomic_write(tmp_path / "m.gk", lambda handle: handle.write(b"model"))
    assert _temporaries(tmp_path) == sorted([names["fresh_live"], names["fresh_old_style"]])


def test_only_the_saved_files_own_temporaries_are_removed(tmp_path):
    ended = _ended_pid()
    mine = f".m.gk.{ended}.00112233aabb.tmp"
    others = [f".m.gk.ckpt.{ended}.00112233aabb.tmp", f".other.gk.{ended}.00112233aabb.tmp",
              f".m.gk.{ended}.notatemp.tmp", "m.gk.backup.tmp"]
    for name in [mine, *others]:
        (tmp_path / name).write_bytes(b"partial")
    assert atomic.remove_stale_temporaries(tmp_path / "m.gk") == [str(tmp_path / mine)]
    assert _temporaries(tmp_path) == sorted(others)


_SAVE_LOOP = """
    import sys
    import graphkit as gk
    directory = sys.argv[1]
    inputs = gk.Input((256,))
    model = gk.Model(inputs, gk.layers.Dense(256)(gk.layers.Dense(256)(inputs)))
    checkpoint = gk.train.Checkpoint(model=model)
    step = 0
    while True:
        model.save(directory + "/m.gk")
        checkpoint.write(directory + "/m.gk.ckpt")
        if step == 0:
            print("saved", flush=True)
        step += 1
"""


def test_kill_9_at_random_moments_of_a_save_loop_leaves_loadable_files_and_no_temporaries(tmp_path):
    moments = random.Random(11)
    left_behind = 0
    for _ in range(3):
        loop = _python(_SAVE_LOOP, str(tmp_path), stdout=subprocess.PIPE)
        assert loop.stdout.readline().strip() == "saved"
        time.sleep(moments.uniform(0.0, 0.3))
        loop.send_signal(signal.SIGKILL)
        assert loop.wait(timeout=60) == -signal.SIGKILL
        loop.stdout.close()
        left_behind += len(_temporaries(tmp_path))

        model = gk.models.load_model(tmp_path / "m.gk")
        gk.train.Checkpoint(model=model).read(tmp_path / "m.gk.ckpt").assert_consumed()
        model.save(tmp_path / "m.gk")
        gk.train.Checkpoint(model=model).write(tmp_path / "m.gk.ckpt")
        assert _temporaries(tmp_path) == []
    print(f"{left_behind} temporaries left by 3 kills, all removed")


def test_downloads_write_through_the_same_temporaries(tmp_path, monkeypatch):
    from graphkit.datasets import _download
    target = tmp_path / "data.bin"
    abandoned = tmp_path / f".data.bin.{_ended_pid()}.00112233aabb.tmp"
    abandoned.write_bytes(b"half a download")

    def failing(url, filename):
        with open(filename, "wb") as handle:
            handle.write(b"partial")
        raise OSError("connection reset")

    monkeypatch.setattr(_download, "urlretrieve", failing)
    with pytest.raises(_download.DownloadError, match="connection reset"):
        _download.get_file(str(target), "http://example.invalid/data.bin")
    assert _temporaries(tmp_path) == [] and not target.exists()

    monkeypatch.setattr(_download, "urlretrieve", lambda url, filename: Path(filename).write_bytes(b"data"))
    assert _download.get_file(str(target), "http://example.invalid/data.bin") == str(target)
    assert target.read_bytes() == b"data" and _temporaries(tmp_path) == []
