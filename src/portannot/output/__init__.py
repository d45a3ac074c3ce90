"""Arrow batches of packets and flows (packet_batch, flow_batch) and their writers to
CSV, JSON Lines and Parquet (BatchWriter, Output). The terminal table views are the
commands' own: portannot.cli.flows and portannot.cli.packets."""

from portannot.output.tables import flow_batch, packet_batch
from portannot.output.writers import FORMATS, BatchWriter, Output, textual

__all__ = ["FORMATS", "BatchWriter", "Output", "flow_batch", "packet_batch", "textual"]
