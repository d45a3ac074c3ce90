"""The user cache and data directories, without importing platformdirs in the common case.

platformdirs (4.x) imports tempfile, shutil, random, bz2 and lzma as it loads: ~7 ms and
40 M instructions of every command's start, to join two strings. On Linux, with the XDG
variable unset or absolute and $HOME absolute, its answer is that join, made here; every
other case (another system, Android, a relative $HOME or XDG variable, no $HOME) is
still platformdirs' own answer, so the directories are the ones it names
(tests/registry/test_dirs.py compares them).
"""

from __future__ import annotations

import os
import posixpath
import sys

APP = "portannot"


def _is_android() -> bool:
    # platformdirs' own test (_is_android_app) looks further; any hint of it: its answer
    return hasattr(sys, "getandroidapilevel") or (
        os.environ.get("ANDROID_DATA") == "/data" and os.environ.get("ANDROID_ROOT") == "/system")


def _xdg(variable: str, default: str) -> str | None:
    """platformdirs' Unix answer for an XDG base directory, when it is a plain join; None
    when platformdirs is to be asked."""
    if not sys.platform.startswith("linux") or _is_android():
        return None
    path = os.environ.get(variable, "")
    if path:
        # a relative XDG path is ignored by platformdirs (and was not by older ones)
        return posixpath.join(path, APP) if posixpath.isabs(path) else None
    home = os.environ.get("HOME")
    if home is None or not posixpath.isabs(home):  # platformdirs falls back to pwd or fails
        return None
    return posixpath.join(posixpath.expanduser(default), APP)


def user_cache_dir() -> str:
    """portannot's user cache directory, as platformdirs.user_cache_dir names it."""
    found = _xdg("XDG_CACHE_HOME", "~/.cache")
    if found is None:
        import platformdirs

        found = platformdirs.user_cache_dir(APP, appauthor=False)
    return found


def user_data_dir() -> str:
    """portannot's user data directory, as platformdirs.user_data_dir names it."""
    found = _xdg("XDG_DATA_HOME", "~/.local/share")
    if found is None:
        import platformdirs

        found = platformdirs.user_data_dir(APP, appauthor=False)
    return found
