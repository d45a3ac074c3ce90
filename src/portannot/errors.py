"""Errors that end a command with one line on stderr and a documented exit code.

The exit codes are part of the command-line contract (README, "Exit codes").
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    NOT_FOUND = 1  #: lookup: a query matched nothing
    USAGE = 2  #: bad command line (click's own code)
    DAMAGED_INPUT = 3  #: finished, but part of an input was damaged or undecodable
    INPUT_ERROR = 4  #: an input could not be read at all
    OUTPUT_ERROR = 5  #: the output could not be written
    REGISTRY_ERROR = 6  #: the registry file is missing or invalid
    INTERRUPTED = 130


class PortannotError(Exception):
    """Base of every error the CLI reports as one line."""

    exit_code: ExitCode = ExitCode.INPUT_ERROR


class InputError(PortannotError):
    """An input file cannot be opened or is not a capture."""

    exit_code = ExitCode.INPUT_ERROR


class CaptureFormatError(InputError):
    """The bytes are not a capture format portannot reads."""


class OutputError(PortannotError):
    """The output cannot be written: it exists (without force), its directory is
    missing, or a write failed (a full disk)."""

    exit_code = ExitCode.OUTPUT_ERROR


#: what the user is told when the reader of our output goes away (`| head`)
BROKEN_PIPE = "output closed early (broken pipe)"


class BrokenPipeOutput(OutputError):
    """The reader of standard output went away (`| head`)."""

    def __init__(self, message: str = BROKEN_PIPE) -> None:
        super().__init__(message)


class RegistryError(PortannotError):
    exit_code = ExitCode.REGISTRY_ERROR


class NotFoundError(PortannotError):
    exit_code = ExitCode.NOT_FOUND
