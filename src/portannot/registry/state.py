"""What the registry says about a port, apart from its records.

The packet stages need only this and the service table (registry.table); the
records and their parsers (record, catalog, the format modules) load when a
registry is parsed or looked up, not at every command's start (they were ~8 ms of it).
"""

from enum import IntEnum

#: First port of the Dynamic and/or Private range (RFC 6335, section 6).
DYNAMIC_FIRST = 49152
MAX_PORT = 65535


class PortState(IntEnum):
    """What the registry says about one (transport, port)."""

    UNASSIGNED = 0
    ASSIGNED = 1
    RESERVED = 2
    DYNAMIC = 3

    @property
    def label(self) -> str:
        return self.name.lower()


def state_of_unnamed(description: str) -> PortState:
    """State a record without a service name gives its ports.

    IANA writes "Reserved", "Reserved - IANA", "Unassigned", "unassigned",
    "Unassigned [was netstat]", "De-registered", "Removed" ...; and a few
    "any private mail system"-style rows that set a port aside for private use.
    Those and every "reserved" wording are RESERVED; the rest (unassigned,
    removed, de-registered, decommissioned) leave the port UNASSIGNED.  The
    description itself is kept on the record, so the registry's word survives.
    """
    text = description.lower()
    if "reserved" in text or text.startswith("any private"):
        return PortState.RESERVED
    return PortState.UNASSIGNED
