"""Streaming capture readers: bytes in, batches of raw records out, never the whole file."""

from portannot.capture.batch import RecordBatch
from portannot.capture.problems import ReadProblem
from portannot.capture.reader import CaptureReader, iter_records

__all__ = ["CaptureReader", "ReadProblem", "RecordBatch", "iter_records"]
