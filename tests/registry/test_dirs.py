"""The user directories named without platformdirs are the ones platformdirs names."""

from __future__ import annotations

import pytest

from portannot.registry import dirs

platformdirs = pytest.importorskip("platformdirs")

#: (HOME, XDG value): the plain case, and each that platformdirs answers otherwise
ENVIRONMENTS = [
    ("/home/u", None),
    ("/home/u/", None),
    ("/", None),
    ("/home/u", ""),
    ("/home/u", "/srv/xdg"),
    ("/home/u", "/srv/xdg/"),
    ("/home/u", "relative/xdg"),
    ("/home/u", "  "),
    ("relative-home", None),
    ("", None),
]


@pytest.mark.parametrize(("home", "xdg"), ENVIRONMENTS)
@pytest.mark.parametrize(("ours", "theirs", "variable"), [
    (dirs.user_cache_dir, platformdirs.user_cache_dir, "XDG_CACHE_HOME"),
    (dirs.user_data_dir, platformdirs.user_data_dir, "XDG_DATA_HOME"),
], ids=["cache", "data"])
def test_the_directory_is_platformdirs_own(ours, theirs, variable, home, xdg, monkeypatch):
    monkeypatch.setenv("HOME", home)
    if xdg is None:
        monkeypatch.delenv(variable, raising=False)
    else:
        monkeypatch.setenv(variable, xdg)
    try:
        expected = theirs("portannot", appauthor=False)
    except RuntimeError:  # no home platformdirs can find: the same failure
        with pytest.raises(RuntimeError):
            ours()
        return
    assert ours() == expected


def test_the_plain_case_is_the_join(monkeypatch):
    """Numbers by hand: the XDG base directory specification's defaults."""
    monkeypatch.setenv("HOME", "/home/u")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", "/data")
    if not dirs.sys.platform.startswith("linux"):
        pytest.skip("the join is made on Linux only")
    assert dirs.user_cache_dir() == "/home/u/.cache/portannot"
    assert dirs.user_data_dir() == "/data/portannot"
