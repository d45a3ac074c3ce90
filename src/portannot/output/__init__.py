"""Writers: Arrow batches of packets and flows to CSV, JSON Lines, Parquet or a terminal table."""

from portannot.output.tables import flow_batch, packet_batch
from portannot.output.writers import FORMATS, BatchWriter, Output, textual

__all__ = ["FORMATS", "BatchWriter", "Output", "flow_batch", "packet_batch", "textual"]
