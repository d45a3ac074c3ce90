"""The compiled hot path: raw records to columns of addresses, transports and ports."""

from portannot.decode.columns import NO_VLAN, PacketBatch
from portannot.decode.decoder import Decoder, concat, decode_file

__all__ = ["NO_VLAN", "Decoder", "PacketBatch", "concat", "decode_file"]
