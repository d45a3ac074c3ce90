"""What went wrong while reading, kept so the command can report it and count it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReadProblem:
    path: str
    offset: int  #: byte offset in the (decompressed) capture where the problem starts
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message} at byte offset {self.offset}"
