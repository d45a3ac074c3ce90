"""link/wlan: 802.11, radiotap, Prism and AVS."""

from __future__ import annotations

import struct

import pytest
from capgen import write_pcap
from linkframes import (
    A4,
    A6,
    B4,
    B6,
    DPORT,
    IP4,
    IP6,
    LINKTYPE_AVS,
    LINKTYPE_ETHERNET,
    LINKTYPE_IEEE802_11,
    LINKTYPE_PPI,
    LINKTYPE_PRISM,
    LINKTYPE_RADIOTAP,
    MAC,
    MALFORMED,
    NON_IP,
    SPORT,
    V4,
    V6,
    agree_with_tshark,
    avs_header,
    decoded_as_listed,
    dot3,
    ipv4_length,
    llc,
    prism_header,
)
from scapy.layers.dot11 import Dot11, Dot11QoS, RadioTap
from scapy.layers.inet import TCP, UDP
from scapy.layers.l2 import LLC, Dot1Q, Ether
from tshark_oracle import TSHARK

from portannot.decode import decode_file
from portannot.status import STATUS_NAMES


def test_ieee802_11_frames(decoded):
    """Only data frames with a body in the clear carry IP: 24 bytes of header (30 with
    four addresses), QoS control 2 more, HT control 4 more when the order bit is set,
    an A-MSDU subframe header 14 more; then LLC/SNAP."""
    qos = bytes(Dot11(type=2, subtype=8, FCfield="to_DS"))
    assert decoded(LINKTYPE_IEEE802_11, [
        bytes(Dot11(type=2, subtype=0, FCfield="to_DS")) + llc() + IP4,
        bytes(Dot11(type=2, subtype=0, FCfield="to_DS+from_DS", addr4="02:00:00:00:00:04"))
        + llc() + IP4,
        bytes(Dot11(type=2, subtype=8, FCfield="to_DS") / Dot11QoS(TID=5)) + llc() + IP4,
        bytes(Dot11(type=2, subtype=8, FCfield="to_DS+order")) + b"\x05\x00" + bytes(4)
        + llc() + IP4,  # QoS control, HT control
        qos + b"\x80\x00" + bytes(14) + llc() + IP4,  # A-MSDU
        bytes(Dot11(type=2, subtype=0, FCfield="to_DS+protected")) + bytes(8) + IP4,
        bytes(Dot11(type=2, subtype=4, FCfield="to_DS")),  # null data
        bytes(Dot11(type=0, subtype=8)) + bytes(12),  # beacon
        bytes(Dot11(type=2, subtype=0, FCfield="to_DS+MF")) + llc() + IP4,  # a first fragment
        bytes(Dot11(type=2, subtype=0, proto=1)) + llc() + IP4,  # protocol version 1
        bytes(Dot11(type=2, subtype=0)) + bytes(LLC(dsap=0x42, ssap=0x42, ctrl=3)) + bytes(40),
    ]) == [V4, V4, V4, V4, V4, NON_IP, NON_IP, NON_IP, NON_IP, NON_IP, NON_IP]


#: 802.11 addresses: addr1, addr2, addr3 (and addr4) of the frames below
W1, W2, W3, W4 = (f"02:00:00:00:00:a{k}" for k in range(1, 5))


def fragment_frames() -> list[tuple[int, bytes, tuple]]:
    """802.11 fragments, each alone (a sequence number of its own), all with a body that
    reads as LLC and IP. One with more fragments to follow is part of a packet: no IP.
    The last one (no more fragments, a fragment number above 0: the low 4 bits of the
    sequence control) is read whole, as tshark reads it when no earlier fragment of its
    sequence number is pending (its reassembly's "802.11 hack": some hardware numbers
    whole frames so). With one pending, tshark reassembles, which portannot does not
    (pcaps/README.md, 802.11, says why)."""
    def frame(sc: int, fcfield: str = "to_DS") -> bytes:
        return bytes(Dot11(type=2, subtype=0, FCfield=fcfield, SC=sc)) + llc() + IP4
    return [(LINKTYPE_IEEE802_11, f, seen) for f, seen in (
        (frame(0x0010), V4),  # sequence 1, fragment 0, no more: whole
        (frame(0x0020, "to_DS+MF"), NON_IP),  # the first of several
        (frame(0x0031, "to_DS+MF"), NON_IP),  # a middle one
        (frame(0x0048), V4),  # a last one (fragment 8) alone
        (frame(0x005F, "from_DS"), V4),  # fragment 15
        (frame(0xFFF0), V4),  # sequence 4095, fragment 0: whole
    )]


def test_ieee802_11_fragments(decoded):
    decoded_as_listed(decoded, fragment_frames())


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
def test_ieee802_11_fragments_as_tshark_shows_them(tmp_path):
    agree_with_tshark(tmp_path, fragment_frames())


def _wlan(fcfield: str, subtype: int = 0) -> bytes:
    """A data frame's header (24 bytes; 30 with four addresses), addresses W1-W4 and
    sequence control 0x0010 (sequence number 1, fragment 0)."""
    return bytes(Dot11(type=2, subtype=subtype, FCfield=fcfield, addr1=W1, addr2=W2,
                       addr3=W3, addr4=W4, SC=0x0010))


def test_ieee802_11_mesh_control(decoded):
    """An 802.11s Mesh Control field (flags, TTL, 4-byte sequence number, then 6 bytes
    for each extra address the flags' address extension names) between the header and
    LLC. tshark 4.0 looks for it in frames from the DS whatever the QoS control's Mesh
    Control Present bit (bit 8) says: valid flags, and 0xaa 0xaa right after the field.
    Each frame here was checked with tshark (wlan.mesh.control_field, ports 40000->53)."""
    mesh_qos = b"\x00\x01"  # QoS control with Mesh Control Present
    ae0 = b"\x00\x1f" + struct.pack("<I", 7)  # flags 0, TTL 31, sequence number 7
    ae2 = b"\x02\x1f" + struct.pack("<I", 7) + bytes(12)  # two more addresses: 18 bytes
    ae3 = b"\x03\x1f" + struct.pack("<I", 7) + bytes(18)  # address extension 3: reserved
    assert decoded(LINKTYPE_IEEE802_11, [
        _wlan("to_DS+from_DS", 8) + mesh_qos + ae0 + llc() + IP4,  # 30 + 2 + 6 + 8
        _wlan("from_DS", 8) + mesh_qos + ae2 + llc() + IP4,  # 24 + 2 + 18 + 8
        _wlan("from_DS") + ae0 + llc() + IP4,  # no QoS control: still read (tshark)
        _wlan("to_DS", 8) + mesh_qos + ae0 + llc() + IP4,  # not from the DS: no mesh field
        _wlan("from_DS", 8) + mesh_qos + ae3 + llc() + IP4,
        _wlan("from_DS", 8) + mesh_qos + ae0 + b"\x08\x00" + IP4,  # no LLC after it
    ]) == [V4, V4, V4, NON_IP, NON_IP, NON_IP]


def test_ieee802_11_bodies_without_llc(decoded):
    """A body that does not start with 0xaa 0xaa: tshark 4.0 reads it, in this order, as
    an Ethernet frame when its first address is the 802.11 destination or its second
    the source (which header address each is depends on the DS bits); IPX for 0xffff;
    LLC after two stray bytes when they are 0x0000 (OLPC) or the sequence control again
    (Atheros: 10 00); else a bare ethertype. Each was checked with tshark."""
    eth = bytes(Ether(dst=W3, src="02:00:00:00:00:99", type=0x0800))  # to DS: dst addr3
    eth_sa = bytes(Ether(dst="02:00:00:00:00:99", src=W2, type=0x86DD))  # source addr2
    from_ds = bytes(Ether(dst=W1, src=W3, type=0x0800))  # from DS: dst addr1, source addr3
    assert decoded(LINKTYPE_IEEE802_11, [
        _wlan("to_DS") + eth + IP4,
        _wlan("to_DS") + eth_sa + IP6,
        _wlan("from_DS") + from_ds + IP4,
        _wlan("to_DS+from_DS") + bytes(Ether(dst=W3, src=W4, type=0x0800)) + IP4,
        _wlan("to_DS") + bytes(Ether(dst=W1, src=W3, type=0x0800)) + IP4,  # not its addresses
        _wlan("to_DS") + b"\xff\xff" + IP4,  # IPX
        _wlan("to_DS") + b"\x00\x00" + llc() + IP4,  # OLPC
        _wlan("to_DS") + b"\x10\x00" + llc() + IP4,  # sequence control repeated
        _wlan("to_DS") + b"\x00\x00" + b"\x08\x00" + IP4,  # only LLC after stray bytes
        _wlan("to_DS") + b"\x08\x00" + IP4,  # bare ethertypes
        _wlan("to_DS") + b"\x86\xdd" + IP6,
        _wlan("to_DS") + b"\x05\xdc" + IP4,  # below 0x0600: an LLC header (SAP 0x05)
    ]) == [V4, V6, V4, V4, NON_IP, NON_IP, V4, V4, NON_IP, V4, V6, NON_IP]


def frames_an_8023_length_ends() -> list[tuple[int, bytes | tuple[bytes, int], tuple]]:
    """(link type, frame, what the decoder sees): a whole Ethernet frame in an 802.11 body
    (its destination the 802.11 frame's) goes to tshark's Ethernet dissector, whose 802.3
    length bounds LLC as on an Ethernet link (tests/decode/link/test_ethernet.py
    test_an_8023_length_ends_the_packet): an IPv4 total length of 0 (TSO) stops at its
    end, so the padding after 2 bytes of UDP is no destination port (it was: 40000 ->
    0xabab), nor is UDP's rest after a length that ends inside it (it was: ports); a
    length past the body's end on the wire (behind radiotap's FCS flag, past the body
    less the FCS) is tshark's malformed 802.3 header, so a frame the snaplen cut before
    its ports is malformed (it was truncated); within it, truncated. Counted by hand:
    the length covers LLC/SNAP (8), the IPv4 header (20) and the UDP bytes."""
    bad4 = ("malformed", 4, A4, B4, None, 0, 0, None)
    cut4 = ("truncated", 4, A4, B4, None, 0, 0, None)
    whole = ("ports", 4, A4, B4, "udp", SPORT, DPORT, None)
    pad = b"\xab" * 20
    head = bytes(Dot11(type=2, subtype=0, addr1=MAC["dst"], addr2=MAC["src"], addr3=W3,
                       SC=0x0010))
    out = []
    for linktype, start, end in ((LINKTYPE_IEEE802_11, head, b""),
                                 (LINKTYPE_RADIOTAP, _radiotap_flags(0x10) + head, FCS)):
        past = start + dot3(40, 28) + end  # 36 bytes after the length field, then the FCS
        within = start + dot3(36, 28) + end
        out += [(linktype, frame, seen) for frame, seen in (
            (start + dot3(30, 0, 2, pad) + end, bad4),  # TSO: 2 bytes of UDP in the length
            (start + dot3(30, 28, 8, pad) + end, bad4),  # the rest of UDP after the length
            (start + dot3(36, 28, 8, pad) + end, whole),
            ((past[:-6 - len(end)], len(past)), bad4),  # cut in the source port
            ((within[:-6 - len(end)], len(within)), cut4),
        )]
    return out


def test_an_8023_length_ends_the_packet(decoded):
    decoded_as_listed(decoded, frames_an_8023_length_ends())


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
def test_an_8023_length_ends_the_packet_as_tshark_shows_it(tmp_path):
    agree_with_tshark(tmp_path, frames_an_8023_length_ends())


def test_radiotap_data_pad(decoded):
    """Flags bit 0x20 (data pad): the 802.11 header is padded to a multiple of 4 bytes,
    so a QoS data header of 26 bytes takes 28 (tshark agrees). The Flags field follows
    the present words and the 8-byte TSFT field when that is present (aligned to 8);
    a Flags field the header's length leaves out does not count."""
    qos = _wlan("to_DS", 8) + b"\x00\x00"  # 26 bytes
    flags = struct.pack("<BBHI", 0, 0, 9, 0x02)  # present: Flags; length 9
    tsft = struct.pack("<BBHI", 0, 0, 17, 0x03) + bytes(8)  # TSFT, then Flags; length 17
    outside = struct.pack("<BBHI", 0, 0, 8, 0x02)  # Flags present, length 8: not in it
    assert decoded(LINKTYPE_RADIOTAP, [
        flags + b"\x20" + qos + b"\x00\x00" + llc() + IP4,
        tsft + b"\x20" + qos + b"\x00\x00" + llc() + IP4,
        flags + b"\x00" + qos + llc() + IP4,  # no pad
        flags + b"\x20" + _wlan("to_DS+from_DS", 8) + b"\x00\x00" + llc() + IP4,  # 32: whole
        # QoS data + CF-Poll: its frame control byte (0xa8) would be flags with a pad
        outside + _wlan("to_DS", 10) + b"\x00\x00" + llc() + IP4,
    ]) == [V4, V4, V4, V4, V4]


#: a radiotap header with a Flags field (length 9) and the flags byte
def _radiotap_flags(flags: int) -> bytes:
    return struct.pack("<BBHIB", 0, 0, 9, 0x02, flags)


FCS = b"\xde\xad\xbe\xef"


def test_radiotap_fcs_ends_the_packet(decoded):
    """Flags bit 0x10: the frame ends with the 802.11 FCS, which tshark cuts off before
    it reads the 802.11 frame: an IP length that runs into those 4 bytes runs past the
    packet (malformed, no ports, where they are not whole before the FCS), and an IPv4
    total length of 0 (length from the frame) stops before them. A snaplen that cut the
    frame inside the FCS, or where it starts, left the packet whole (malformed, not
    truncated: the second was truncated, where tshark 4.0 shows Malformed Packet); one
    that cut it before the FCS cut the packet. Each frame was checked with tshark (no udp
    ports where this says no ports)."""
    fcs, plain = _radiotap_flags(0x10), _radiotap_flags(0x00)
    head = bytes(Dot11(type=2, subtype=0, FCfield="to_DS")) + llc()
    udp2 = bytes(UDP(sport=SPORT, dport=DPORT))[:2]  # 2 bytes of UDP before the FCS
    into_fcs = fcs + head + ipv4_length(24, udp2) + FCS  # UDP's ports: 2 bytes + FCS
    v6 = bytearray(IP6[:40])
    v6[4:6] = struct.pack(">H", 4)  # a payload of 4 bytes: 2 of UDP, 2 of FCS
    short4 = ("malformed", 4, A4, B4, None, 0, 0, None)
    assert decoded(LINKTYPE_RADIOTAP, [
        fcs + head + IP4 + FCS,
        fcs + head + ipv4_length(0, udp2) + FCS,  # length from the frame: without the FCS
        plain + head + ipv4_length(0, udp2) + FCS,  # no FCS flag: its first 2 bytes a port
        into_fcs,
        (into_fcs[:-2], len(into_fcs)),  # cut inside the FCS: the packet is all there
        (into_fcs[:-5], len(into_fcs)),  # cut before it: the packet is cut
        fcs + head + ipv4_length(28, bytes(UDP(sport=SPORT, dport=DPORT))[:4]) + FCS,  # the ports
        fcs + head[:-4] + FCS,  # LLC cut by the FCS (tshark: malformed LLC)
        fcs + head[:-2] + b"\x86\xdd" + bytes(v6) + udp2 + FCS,
        (into_fcs[:-4], len(into_fcs)),  # cut where the FCS starts: the packet is all there
        (fcs + head + IP4[:12], len(fcs + head) + 12 + 4),  # so, 8 bytes short, its IP header
    ]) == [V4, short4, ("ports", 4, A4, B4, "udp", SPORT, 0xDEAD, None), short4, short4,
           ("truncated", 4, A4, B4, None, 0, 0, None), V4, MALFORMED,
           ("malformed", 6, A6, B6, None, 0, 0, None), short4, MALFORMED]


def test_radiotap_fcs_and_tcp_flags(tmp_path):
    """TCP flags only from 16 header bytes before the FCS: an IPv4 total length of 0
    with 12 bytes of TCP before it gives ports and no flags, as in tshark (tcp.flags
    absent); with 16 bytes, the flags (SYN)."""
    head = _radiotap_flags(0x10) + bytes(Dot11(type=2, subtype=0, FCfield="to_DS")) + llc()
    syn = bytes(TCP(sport=SPORT, dport=80, flags="S"))
    frames = [head + ipv4_length(0, syn[:12], 6) + FCS, head + ipv4_length(0, syn[:16], 6) + FCS]
    b = decode_file(write_pcap(tmp_path / "fcs.pcap", [(i * 1000, f) for i, f in enumerate(frames)],
                               linktype=LINKTYPE_RADIOTAP))
    assert [STATUS_NAMES[s] for s in b.status] == ["ports", "ports"]
    assert list(b.src_port) == [SPORT, SPORT]
    assert [int(f) for f in b.tcp_flags] == [0, 0x002]


def test_radiotap_says_its_length(decoded):
    data = bytes(Dot11(type=2, subtype=0)) + llc() + IP4
    long_radiotap = bytes(RadioTap(present="Flags+Rate+Channel", Flags=0, Rate=2,
                                   ChannelFrequency=2412, ChannelFlags=0xA0))
    assert RadioTap(long_radiotap).len == len(long_radiotap) == 14  # 8 + 1 + 1 + 4
    bad = struct.pack("<BBHI", 0, 0, 7, 0)  # a radiotap length below its own 8 bytes
    assert decoded(LINKTYPE_RADIOTAP, [long_radiotap + data, bad + data]) == [
        V4, MALFORMED]


def prism_and_avs_frames() -> list[tuple[int, bytes, tuple]]:
    """(link type, frame, what the decoder must see), as tshark 4.0 reads these headers:
    under Prism's link type an AVS header of version 1 or 2 (magic 0x80211001/2), a
    Prism header (code 0x41 or 0x44, either byte order: 144 bytes, whatever its length
    field says), else an 802.11 frame with no radio header. An AVS header's length
    (bytes 4-8) says where 802.11 starts, whatever the version; tshark first reads the
    fixed fields of versions 0 and 1 (64 bytes) and 2 (80)."""
    wlan = bytes(Dot11(type=2, subtype=0, FCfield="to_DS")) + llc() + IP4
    beacon = bytes(Dot11(type=0, subtype=8)) + bytes(12)
    return [
        (LINKTYPE_PRISM, prism_header(0x44) + wlan, V4),
        (LINKTYPE_PRISM, prism_header(0x41) + wlan, V4),
        (LINKTYPE_PRISM, prism_header(0x44, order=">") + wlan, V4),
        (LINKTYPE_PRISM, prism_header(0x44, msglen=100) + wlan, V4),
        (LINKTYPE_PRISM, prism_header(0x44, msglen=200) + wlan, V4),
        (LINKTYPE_PRISM, prism_header(0x99) + wlan, NON_IP),  # no code: 802.11 at byte 0
        (LINKTYPE_PRISM, wlan, V4),
        (LINKTYPE_PRISM, prism_header(0x44) + beacon, NON_IP),
        (LINKTYPE_PRISM, prism_header(0x44)[:100], MALFORMED),
        (LINKTYPE_PRISM, avs_header(0x80211001, 64) + wlan, V4),
        (LINKTYPE_PRISM, avs_header(0x80211002, 80) + wlan, V4),
        (LINKTYPE_PRISM, avs_header(0x80211003, 64) + wlan, NON_IP),  # not AVS: 802.11 at byte 0
        (LINKTYPE_AVS, avs_header(0x80211001, 64) + wlan, V4),
        (LINKTYPE_AVS, avs_header(0x80211001, 72) + wlan, V4),
        (LINKTYPE_AVS, avs_header(0x80211002, 80) + wlan, V4),
        (LINKTYPE_AVS, avs_header(0x80211003, 24) + wlan, V4),  # fields unknown, length counts
        (LINKTYPE_AVS, avs_header(0x12345678, 16) + wlan, V4),
        (LINKTYPE_AVS, avs_header(0x80211002, 64) + wlan[:10], MALFORMED),  # 74 < version 2's 80
        (LINKTYPE_AVS, avs_header(0x80211001, 2000, pad=56) + wlan, MALFORMED),  # length past the frame
        (LINKTYPE_AVS, prism_header(0x44) + wlan, MALFORMED),  # no magic check: length 0x90000000
        (LINKTYPE_PPI, struct.pack("<BBHI", 0, 0, 8, LINKTYPE_PRISM) + prism_header() + wlan, V4),
        (LINKTYPE_PPI, struct.pack("<BBHI", 0, 0, 8, LINKTYPE_AVS) + avs_header() + wlan, V4),
    ]


def test_prism_and_avs_headers(decoded):
    decoded_as_listed(decoded, prism_and_avs_frames())


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
def test_prism_and_avs_headers_as_tshark_shows_them(tmp_path):
    """The same frames through tshark 4.0: its ports where the decoder has them, none
    where it has none, and malformed where the decoder says malformed."""
    agree_with_tshark(tmp_path, prism_and_avs_frames())


def tags_behind_a_radio_header() -> list[tuple[int, bytes, tuple]]:
    """(link type, frame, what the decoder must see): an 802.11 body whose LLC/SNAP header
    names a VLAN tag (0x8100, 0x88a8), bare and behind each radio header, and an Ethernet
    frame's tag behind PPI. The tag is the frame's first after the link header, and tshark
    shows its id (`radiotap:wlan_radio:wlan:llc:vlan`, vlan.id); the oracle saw none behind
    a radio header or PPI, where tests/tshark_oracle.outer_vlan took the radio header
    for the link's and stopped at the next layer (wlan_radio, pcap_pktdata)."""
    wlan = bytes(Dot11(type=2, subtype=0, FCfield="to_DS"))

    def tagged(vlan: int, ethertype: int = 0x8100) -> bytes:
        return wlan + llc(ethertype) + struct.pack(">HH", vlan, 0x0800) + IP4

    def v4(vlan: int) -> tuple:
        return (*V4[:7], vlan)

    def ppi(dlt: int) -> bytes:
        return struct.pack("<BBHI", 0, 0, 8, dlt)

    ether = bytes(Ether(**MAC) / Dot1Q(vlan=60, type=0x0800)) + IP4
    return [
        (LINKTYPE_IEEE802_11, tagged(10), v4(10)),
        (LINKTYPE_IEEE802_11, tagged(11, 0x88A8), v4(11)),
        (LINKTYPE_RADIOTAP, bytes(RadioTap()) + tagged(20), v4(20)),
        (LINKTYPE_RADIOTAP, bytes(RadioTap()) + tagged(21, 0x88A8), v4(21)),
        (LINKTYPE_RADIOTAP, _radiotap_flags(0x10) + tagged(22) + FCS, v4(22)),
        (LINKTYPE_PRISM, prism_header() + tagged(30), v4(30)),
        (LINKTYPE_AVS, avs_header() + tagged(40), v4(40)),
        (LINKTYPE_PPI, ppi(LINKTYPE_IEEE802_11) + tagged(50), v4(50)),
        (LINKTYPE_PPI, ppi(LINKTYPE_RADIOTAP) + bytes(RadioTap()) + tagged(51), v4(51)),
        (LINKTYPE_PPI, ppi(LINKTYPE_PRISM) + prism_header() + tagged(52), v4(52)),
        (LINKTYPE_PPI, ppi(LINKTYPE_ETHERNET) + ether, v4(60)),
    ]


def test_tags_behind_a_radio_header(decoded):
    decoded_as_listed(decoded, tags_behind_a_radio_header())


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
def test_tags_behind_a_radio_header_as_tshark_shows_them(tmp_path):
    agree_with_tshark(tmp_path, tags_behind_a_radio_header())
