"""output.Output used on its own, as README shows it with BatchWriter."""

from __future__ import annotations

from pathlib import Path

import pytest

from portannot.errors import OutputError
from portannot.output import BatchWriter, Output


def test_a_pathlike_is_taken_as_every_other_stage_takes_it(tmp_path: Path) -> None:
    """Output(Path("flows.csv")) was an AttributeError ('PosixPath' object has no
    attribute 'startswith'), where CaptureReader, load_table and portannot.flows take a
    Path; its hint said str | None."""
    target = tmp_path / "flows.csv"
    with Output(target) as out:
        out.stream.write(b"a\n")
    assert target.read_bytes() == b"a\n"
    with pytest.raises(OutputError, match="already exists"):
        Output(target)
    with BatchWriter("csv", Output(target, force=True)):
        pass
    assert target.exists()


def test_a_path_of_bytes_is_refused_with_a_type_error(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="str or os.PathLike"):
        Output(bytes(tmp_path / "x.csv"))  # type: ignore[arg-type]


def test_output_error_is_importable_where_the_others_are(tmp_path: Path) -> None:
    """Output refuses an existing file, a missing directory or a failed write with
    portannot.errors.OutputError, which neither `portannot` (beside InputError and
    RegistryError) nor `portannot.output` offered, nor README named: a caller had to
    find the private module to catch it."""
    import portannot
    import portannot.output

    assert portannot.OutputError is OutputError
    assert portannot.output.OutputError is OutputError
    assert "OutputError" in portannot.__all__ and "OutputError" in portannot.output.__all__
    (tmp_path / "x.csv").write_text("")
    with pytest.raises(portannot.OutputError, match="already exists"):
        Output(tmp_path / "x.csv")
