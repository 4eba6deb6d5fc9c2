"""Atomic writes: the new file or the old one, never half of one, with the permissions open() would give."""

import os

import pytest

from rnnkit.io import FILE_MODE, atomic_write_bytes, atomic_write_json


def test_written_whole_with_ordinary_permissions(tmp_path):
    path = tmp_path / "sub" / "model.json"
    atomic_write_json(path, {"a": 1})
    assert path.read_text() == '{\n  "a": 1\n}\n'
    assert os.stat(path).st_mode & 0o777 == FILE_MODE  # not mkstemp's private 0600
    reference = tmp_path / "plain"
    reference.write_bytes(b"")
    assert os.stat(reference).st_mode & 0o777 == FILE_MODE
    assert [p.name for p in path.parent.iterdir()] == ["model.json"]  # no temporary file left behind


def test_a_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "weights.bin"
    atomic_write_bytes(path, b"old")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["weights.bin"]
