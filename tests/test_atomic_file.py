"""AtomicFile: the temporary beside the target as the system resolves its name."""

from __future__ import annotations

import os

import pytest

from portannot.atomic_file import AtomicFile


def test_the_temporary_is_beside_the_target_through_a_link_and_dot_dot(tmp_path, monkeypatch):
    """'link/../x' names x beside what the link leads to; abspath folded it to x beside the
    link, so the temporary was made in another directory than the rename's (EXDEV at
    the end, after the whole write, when they are on different file systems)."""
    (tmp_path / "real" / "d").mkdir(parents=True)
    (tmp_path / "cwd").mkdir()
    (tmp_path / "cwd" / "link").symlink_to(tmp_path / "real" / "d")
    monkeypatch.chdir(tmp_path / "cwd")
    f = AtomicFile(os.path.join("link", "..", "x.csv"))
    try:
        assert os.path.realpath(os.path.dirname(f.tmp)) == str((tmp_path / "real").resolve())
        f.stream.write(b"rows\n")
        f.commit()
    finally:
        f.abort()
    assert (tmp_path / "real" / "x.csv").read_bytes() == b"rows\n"
    assert sorted(p.name for p in (tmp_path / "cwd").iterdir()) == ["link"]


def test_a_missing_directory_before_dot_dot_fails_at_once(tmp_path, monkeypatch):
    """'missing/../x' cannot be created; it failed only at the rename, once all was written."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError):
        AtomicFile(os.path.join("missing", "..", "x.csv"))
    assert list(tmp_path.iterdir()) == []


def test_a_temporary_name_taken_is_left_alone_and_another_drawn(tmp_path, monkeypatch):
    """The temporary is always a new file (mkstemp's O_EXCL and O_NOFOLLOW, made here
    without tempfile): a file, or a link, already at the name drawn is not opened, and
    the next name is drawn."""
    from portannot import atomic_file

    draws = iter([bytes(8), bytes(8), bytes([1] * 8)])  # 'aaaaaaaa' twice, then 'bbbbbbbb'
    monkeypatch.setattr(atomic_file.os, "urandom", lambda n: next(draws))
    taken = tmp_path / ".portannot-aaaaaaaa.part"
    taken.symlink_to(tmp_path / "elsewhere")
    f = AtomicFile(tmp_path / "x.csv")
    try:
        assert f.tmp == str(tmp_path / ".portannot-bbbbbbbb.part")
        assert oct(os.stat(f.tmp).st_mode & 0o777) == oct(atomic_file.file_mode(tmp_path / "x.csv"))
        f.stream.write(b"rows\n")
        f.commit()
    finally:
        f.abort()
    assert (tmp_path / "x.csv").read_bytes() == b"rows\n"
    assert taken.is_symlink() and not (tmp_path / "elsewhere").exists()
