"""Aggregation of decoded packets into bidirectional flows, and the rules that name them."""

from portannot.aggregate.rules import FlowColumns, flow_columns
from portannot.aggregate.table import FlowTable, RawFlows

__all__ = ["FlowColumns", "FlowTable", "RawFlows", "flow_columns"]
