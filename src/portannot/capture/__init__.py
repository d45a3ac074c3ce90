"""Streaming capture readers: bytes in, batches of raw records out, never the whole file."""

from portannot.capture.batch import RecordBatch
from portannot.capture.problems import ProblemLog, ReadProblem
from portannot.capture.reader import CaptureReader, Paths, as_paths, iter_records

__all__ = ["CaptureReader", "Paths", "ProblemLog", "ReadProblem", "RecordBatch", "as_paths", "iter_records"]
