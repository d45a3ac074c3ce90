"""decode/ethertype.py through the decoder: what may stand between the link header and
IP, peeled one header a step: VLAN tags (802.1Q, 802.1ad and the pre-standard QinQ
types 0x9100 and 0x9200), MPLS label stacks (unicast and multicast) and PPPoE sessions.

Frames are Ethernet, built with scapy and decoded with ``decoded`` (tests/decode/
conftest.py). What each must give is the packet it was built with, the VLAN id of its
first tag (the README's ``vlan`` column) and, where a header is cut or lies, the status
the README names; header sizes (a tag 4 bytes, a label 4, a PPPoE session header 6 and
its PPP protocol 2) are the standards', worked out by hand.
"""

from __future__ import annotations

import pytest
from capgen import write_pcap
from scapy.contrib.mpls import MPLS
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, Dot1AD, Dot1Q, Ether
from scapy.layers.ppp import PPP, PPPoE, PPPoED
from scapy.packet import Raw
from tshark_oracle import TSHARK, oracle

A4, B4 = "192.0.2.1", "198.51.100.2"
A6, B6 = "2001:db8::1", "2001:db8:0:1::2"
SPORT, DPORT = 40000, 443
IP4 = IP(src=A4, dst=B4) / TCP(sport=SPORT, dport=DPORT, flags="S")
IP6 = IPv6(src=A6, dst=B6) / TCP(sport=SPORT, dport=DPORT, flags="S")
MAC = {"src": "02:00:00:00:00:01", "dst": "02:00:00:00:00:02"}
ETHERNET = 1


def v4(vlan=None) -> tuple:
    """What the decoder must see in a frame carrying IP4 (tests/decode/conftest.Seen)."""
    return ("ports", 4, A4, B4, "tcp", SPORT, DPORT, vlan)


def v6(vlan=None) -> tuple:
    return ("ports", 6, A6, B6, "tcp", SPORT, DPORT, vlan)


def non_ip(vlan=None) -> tuple:
    return ("non-ip", 0, None, None, None, 0, 0, vlan)


def ether(*layers) -> bytes:
    """Ethernet, then `layers` (scapy sets each type field from the layer after it)."""
    frame = Ether(**MAC)
    for layer in layers:
        frame = frame / layer
    return bytes(frame)


def tag(ethertype: int, vlan: int, inner: int, prio: int = 0) -> bytes:
    """A 4-byte tag by hand: TCI (priority, DEI 0, 12-bit id), then the next ethertype."""
    return (ethertype.to_bytes(2, "big") + ((prio << 13) | vlan).to_bytes(2, "big")
            + inner.to_bytes(2, "big"))


def by_hand(*parts: bytes) -> bytes:
    """Ethernet addresses, then the given bytes (the first two are the outer ethertype)."""
    return bytes(Ether(**MAC))[:12] + b"".join(parts)


# ------------------------------------------------------------------ VLAN tags

def test_vlan_tags(decoded):
    assert decoded(ETHERNET, [
        ether(IP4),
        ether(Dot1Q(vlan=100), IP4),
        ether(Dot1Q(vlan=4094), IP6),
        ether(Dot1Q(prio=5, dei=1, vlan=123), IP4),  # priority and DEI are not the id
        ether(Dot1Q(vlan=0), IP4),  # priority-tagged: id 0
        ether(Dot1AD(vlan=10), Dot1Q(vlan=20), IP4),  # QinQ: the outer (first) tag's id
        ether(Dot1Q(vlan=30), Dot1Q(vlan=40), IP6),
        by_hand(tag(0x9100, 50, 0x8100), tag(0x8100, 60, 0x0800)[2:], bytes(IP4)),
        by_hand(tag(0x9200, 70, 0x0800), bytes(IP4)),
        ether(Dot1Q(vlan=80, type=0x0806), Raw(bytes(28))),  # ARP
        by_hand(tag(0x8100, 90, 0x88CC), bytes(30)),  # LLDP
    ]) == [v4(), v4(100), v6(4094), v4(123), v4(0), v4(10), v6(30), v4(50), v4(70),
           non_ip(80), non_ip(90)]


def service_tag_stacks() -> list[tuple[bytes, tuple]]:
    """(frame, what the decoder must see): QinQ whose outer tag is 802.1ad, the frame's
    tag being the outer one. tshark reads a second 802.1ad tag into the first's layer
    (its summary "S-VID: 10, C-VID: 20", fields ieee8021ad.svid and .cvid, no
    ieee8021ad.id); an 802.1Q or 0x9100 tag after it is a layer of its own."""
    return [
        (by_hand(tag(0x88A8, 10, 0x88A8), tag(0x88A8, 20, 0x0800)[2:], bytes(IP4)), v4(10)),
        (by_hand(tag(0x88A8, 11, 0x8100), tag(0x8100, 21, 0x0800)[2:], bytes(IP4)), v4(11)),
        (by_hand(tag(0x88A8, 12, 0x88A8), tag(0x88A8, 22, 0x8100)[2:],
                 tag(0x8100, 32, 0x86DD)[2:], bytes(IP6)), v6(12)),
        (by_hand(tag(0x88A8, 13, 0x8100), tag(0x8100, 23, 0x88A8)[2:],
                 tag(0x88A8, 33, 0x0800)[2:], bytes(IP4)), v4(13)),
        (by_hand(tag(0x8100, 14, 0x88A8), tag(0x88A8, 24, 0x88A8)[2:],
                 tag(0x88A8, 34, 0x0800)[2:], bytes(IP4)), v4(14)),
    ]


def tags_before_a_length() -> list[tuple[bytes, tuple]]:
    """(frame, what the decoder must see): a tag, then an 802.3 length and LLC/SNAP
    carrying IPv4. After an 802.1Q tag (and the pre-standard 0x9100, which tshark reads
    as one) that is IP; after an 802.1ad tag the type field is always an ethertype, as
    tshark's 802.1ad dissector reads it, and a length is not one it knows."""
    snap = bytes.fromhex("aaaa03" "000000" "0800") + bytes(IP4)
    length = len(snap).to_bytes(2, "big")
    return [
        (by_hand(tag(0x8100, 7, 0)[:4], length, snap), v4(7)),
        (by_hand(tag(0x9100, 8, 0)[:4], length, snap), v4(8)),
        (by_hand(tag(0x88A8, 9, 0)[:4], length, snap), non_ip(9)),
        # an 802.1Q tag inside the 802.1ad one reads the length as after Ethernet
        (by_hand(tag(0x88A8, 10, 0x8100), tag(0x8100, 20, 0)[2:4], length, snap), v4(10)),
    ]




def jumbo_llc_frames() -> list[tuple[bytes, tuple]]:
    """(frame, what the decoder must see): ethertype 0x8870, 802.1's "jumbo" LLC, names an
    802.2 LLC header straight after the type field (no length: the frame may be longer
    than 802.3's 1500 bytes), read as after an 802.3 length: SNAP's ethertype, or IPv4
    behind IP's own SAP 6; any other SAP is not IP. tshark registers its LLC dissector
    for the ethertype, so a tag names it too."""
    snap4 = bytes.fromhex("aaaa03" "000000" "0800") + bytes(IP4)
    snap6 = bytes.fromhex("aaaa03" "000000" "86dd") + bytes(IP6)
    return [
        (by_hand(b"\x88\x70", snap4), v4()),
        (by_hand(b"\x88\x70", snap6), v6()),
        (by_hand(b"\x88\x70", bytes.fromhex("060603"), bytes(IP4)), v4()),  # the IP SAP
        (by_hand(b"\x88\x70", bytes.fromhex("424203"), bytes(35)), non_ip()),  # STP
        (by_hand(tag(0x8100, 11, 0x8870), snap4), v4(11)),
        (by_hand(tag(0x88A8, 12, 0x8870), snap6), v6(12)),
    ]




def tags_behind_llc_snap() -> list[tuple[bytes, tuple]]:
    """(frame, what the decoder must see): an LLC/SNAP header naming a tag's ethertype,
    after an 802.3 length or after ethertype 0x8870. The SNAP header is the link's way of
    naming the ethertype, as a type field is, and tshark shows the tag as the frame's
    first VLAN layer (`eth:llc:vlan`, `eth:ethertype:llc:vlan`, with its vlan.id), so it
    is the frame's `vlan`. After 0x8870 portannot reported none (the LLC step came
    first), and the oracle none after either (llc was not part of its tag stack). A tag
    before them stays the frame's."""
    def snap(vlan: int, ethertype: int = 0x8100) -> bytes:
        return bytes.fromhex("aaaa03" "000000") + tag(ethertype, vlan, 0x0800) + bytes(IP4)

    def length(data: bytes) -> bytes:
        return len(data).to_bytes(2, "big")

    return [
        (by_hand(length(snap(100)), snap(100)), v4(100)),
        (by_hand(b"\x88\x70", snap(101)), v4(101)),
        (by_hand(length(snap(102, 0x88A8)), snap(102, 0x88A8)), v4(102)),
        (by_hand(b"\x88\x70", snap(103, 0x88A8)), v4(103)),
        (by_hand(tag(0x8100, 5, 0)[:4], length(snap(104)), snap(104)), v4(5)),
        (by_hand(tag(0x8100, 6, 0x8870), snap(105)), v4(6)),
    ]


def test_a_tag_cut_by_the_snaplen(decoded):
    """Cut after its TCI, an 802.1Q tag's id is there (as tshark shows it); an
    802.1ad tag is read whole before its id counts."""
    q = ether(Dot1Q(vlan=100), IP4)
    ad = ether(Dot1AD(vlan=10), Dot1Q(vlan=20), IP4)
    got = decoded(ETHERNET, [(q[:16], len(q)), (q[:17], len(q)), (q[:15], len(q)),
                             (ad[:16], len(ad)), (ad[:20], len(ad)), (q[:18 + 20 + 3], len(q))])
    assert [(g.status, g.vlan) for g in got] == [
        ("truncated", 100), ("truncated", 100), ("truncated", None),
        ("truncated", None), ("truncated", 10), ("truncated", 100)]
    # a frame that ends inside its tag, cut by nothing, is malformed
    assert decoded(ETHERNET, [q[:16]])[0].status == "malformed"


def test_an_endless_stack_of_tags_is_malformed(decoded):
    """Stacked headers are followed a bounded number of steps (crafted frames could hold
    hundreds): a few are read, a stack of 200 is not."""
    def stack(n: int) -> bytes:
        return by_hand(*(tag(0x8100, k + 1, 0x8100)[:4] for k in range(n)),
                       b"\x08\x00", bytes(IP4))

    assert decoded(ETHERNET, [stack(1), stack(4), stack(200)]) == [
        v4(1), v4(1), ("malformed", 0, None, None, None, 0, 0, 1)]


def fabric_tags() -> list[tuple[bytes, tuple]]:
    """(frame, what the decoder must see): the data-centre fabric headers tshark 4.0 reads
    through to IP. Cisco's VN-Tag (0x8926: 4 bytes, then a type field read as after an
    802.1Q tag, an 802.3 length leading to LLC/SNAP); 802.1BR's E-Tag (0x893f) and Cisco's
    MetaData (0x8909: version, length, an option and the SGT, the length not read): 6
    bytes, then an ethertype as it is (a length there is data); TRILL (0x22f3, RFC 6325):
    6 bytes, options of 4 times the header's 5-bit length, then a whole Ethernet frame.
    Tags inside them are not the frame's first (the README's `vlan`)."""
    snap = bytes.fromhex("aaaa03" "000000" "0800") + bytes(IP4)
    length = len(snap).to_bytes(2, "big")
    inner = bytes(Ether(**MAC) / IP6)
    return [
        (by_hand(b"\x89\x26", bytes.fromhex("00010002"), b"\x08\x00", bytes(IP4)), v4()),
        (by_hand(b"\x89\x26", bytes.fromhex("80010002"), tag(0x8100, 5, 0x86DD),
                 bytes(IP6)), v6()),
        (by_hand(b"\x89\x26", bytes.fromhex("00010002"), length, snap), v4()),
        (by_hand(tag(0x88A8, 9, 0x8926), bytes.fromhex("00010002"), b"\x08\x00", bytes(IP4)),
         v4(9)),
        (by_hand(b"\x89\x3f", bytes.fromhex("ffffffffffff"), b"\x86\xdd", bytes(IP6)), v6()),
        (by_hand(b"\x89\x3f", bytes.fromhex("000100020000"), length, snap), non_ip()),
        (by_hand(b"\x89\x09", bytes.fromhex("010100010064"), b"\x08\x00", bytes(IP4)), v4()),
        (by_hand(b"\x89\x09", bytes.fromhex("020500020064"), b"\x86\xdd", bytes(IP6)), v6()),
        (by_hand(b"\x89\x09", bytes.fromhex("010100010064"), length, snap), non_ip()),
        (by_hand(b"\x22\xf3", bytes.fromhex("000000010002"), inner), v6()),
        # version 1, the multi-destination bit, and 2 words of options
        (by_hand(b"\x22\xf3", bytes.fromhex("48800001" "0002"), bytes(8), inner), v6()),
        (by_hand(b"\x22\xf3", bytes.fromhex("000000010002"),
                 bytes(Ether(**MAC) / Dot1Q(vlan=7) / IP4)), v4()),
    ]



def test_fabric_tags_cut(decoded):
    """A header that ends before its type field (TRILL: before its options end) is cut:
    truncated by the snaplen, else malformed (tshark: "Malformed Packet")."""
    frames = [f for f, _ in fabric_tags()]
    cuts = [(frames[0], 14 + 5), (frames[4], 14 + 7), (frames[6], 14 + 7), (frames[10], 14 + 13)]
    got = decoded(ETHERNET, [(f[:n], len(f)) for f, n in cuts] + [f[:n] for f, n in cuts])
    assert [g.status for g in got] == ["truncated"] * 4 + ["malformed"] * 4



# ------------------------------------------------------------------ MPLS

def test_mpls_label_stacks(decoded):
    """Labels until the one marked bottom of stack; then no type field: the payload's
    first nibble says IPv4 (4) or IPv6 (6); a pseudowire's associated channel (1, RFC
    4385) of BFD is not IP (of IP: test_frames_decode_as_built[mpls-associated-channels])."""
    bottom = MPLS(label=16, s=1, ttl=64)
    assert decoded(ETHERNET, [
        ether(bottom, IP4),
        ether(MPLS(label=100, s=0), MPLS(label=200, s=0), bottom, IP4),
        ether(bottom, IP6),
        by_hand(b"\x88\x48", bytes(bottom), bytes(IP4)),  # multicast
        by_hand(tag(0x8100, 5, 0x8847), bytes(bottom), bytes(IP4)),
        ether(bottom, Raw(b"\x10\x00\x00\x07" + bytes(20))),  # a PW associated channel
    ]) == [v4(), v4(), v6(), v4(), v4(5), non_ip()]


def associated_channels() -> list[tuple[bytes, tuple]]:
    """(frame, what the decoder must see): a PW associated channel header (RFC 4385: first
    nibble 1, version, reserved byte, 16-bit channel type) after the bottom label. Its
    channel types are PPP's numbers: 0x0021 carries IPv4 and 0x0057 IPv6 (VCCV, RFC 5085:
    LSP ping, UDP 3503), which tshark's pwach dissector hands to IP whatever the version
    and reserved bytes say; BFD (0x0007) and the rest are not IP."""
    udp4 = IP(src=A4, dst=B4) / UDP(sport=SPORT, dport=3503)
    udp6 = IPv6(src=A6, dst=B6) / UDP(sport=SPORT, dport=3503)
    lsp_ping = ("ports", 4, A4, B4, "udp", SPORT, 3503, None)

    def ach(label: int, header: str, packet) -> bytes:
        return ether(MPLS(label=label, s=1), Raw(bytes.fromhex(header) + bytes(packet)))

    return [
        (ach(100, "10000021", udp4), lsp_ping),
        (ach(100, "10000057", udp6), ("ports", 6, A6, B6, "udp", SPORT, 3503, None)),
        (ach(13, "10000021", udp4), lsp_ping),  # behind the G-ACh label (GAL, RFC 5586)
        (ach(100, "11ff0021", udp4), lsp_ping),  # version and reserved byte not read
        (ach(100, "10000007", bytes(24)), non_ip()),  # BFD
        (ach(100, "10000281", MPLS(label=5, s=1) / udp4), non_ip()),  # PPP's MPLS: data
        (ach(100, "10000800", udp4), non_ip()),  # an ethertype is not a channel type
    ]




def reserved_bottom_labels() -> list[tuple[bytes, tuple]]:
    """(frame, what the decoder must see): two reserved labels say what follows the
    bottom of the stack whatever its first nibble. The G-ACh label (13, GAL, RFC 5586) is
    followed by an associated channel header (tshark reads pwach there, also where its
    first nibble is not 1); the OAM alert label (14, RFC 3429) by a Y.1711 OAM message,
    not IP (tshark: y1711 or data). Not at the bottom, both are labels like any."""
    udp4 = IP(src=A4, dst=B4) / UDP(sport=SPORT, dport=3503)
    lsp_ping = ("ports", 4, A4, B4, "udp", SPORT, 3503, None)

    def labelled(labels: list[tuple[int, int]], payload: bytes) -> bytes:
        return ether(*(MPLS(label=label, s=s) for label, s in labels), Raw(payload))

    return [
        (labelled([(13, 1)], bytes.fromhex("00000021") + bytes(udp4)), lsp_ping),
        (labelled([(100, 0), (13, 1)], bytes.fromhex("50000021") + bytes(udp4)), lsp_ping),
        (labelled([(13, 1)], bytes(IP4)), non_ip()),  # 45 00 00 28: channel type 0x0028
        (labelled([(13, 0), (100, 1)], bytes(IP4)), v4()),
        (labelled([(14, 1)], bytes(IP4)), non_ip()),
        (labelled([(14, 1)], bytes.fromhex("01") + bytes(43)), non_ip()),  # connectivity check
        (labelled([(14, 0), (100, 1)], bytes(IP4)), v4()),
    ]



#: the lists of (frame, what the decoder must see) above, each checked twice: against the
#: decoder, and the values worked out by hand against tshark's reading of the same frames
#: (service-tag-stacks: tests/tshark_oracle.outer_vlan took ieee8021ad.id, which a double
#: 802.1ad layer does not have, and saw no VLAN in two of them)
BUILT = {"service-tag-stacks": service_tag_stacks,
         "a-length-after-a-tag": tags_before_a_length, "jumbo-llc": jumbo_llc_frames,
         "tags-behind-llc-snap": tags_behind_llc_snap,
         "fabric-tags": fabric_tags, "mpls-associated-channels": associated_channels,
         "mpls-reserved-bottom-labels": reserved_bottom_labels}


@pytest.mark.parametrize("cases", BUILT.values(), ids=BUILT.keys())
def test_frames_decode_as_built(decoded, cases):
    built = cases()
    assert decoded(ETHERNET, [f for f, _ in built]) == [seen for _, seen in built]


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
@pytest.mark.parametrize("cases", BUILT.values(), ids=BUILT.keys())
def test_frames_as_tshark_reads_them(tmp_path, cases):
    """tshark finds in the frames the ports and the first VLAN id they were built with."""
    built = cases()
    path = write_pcap(tmp_path / "built.pcap",
                      [(i * 1000, f) for i, (f, _) in enumerate(built)], linktype=ETHERNET)
    for row, (_, seen) in zip(oracle(path), built, strict=True):
        assert (row.src_port or 0, row.dst_port or 0, row.vlan) == seen[5:], (
            row.number, row.protocols)


def test_mpls_cut_and_endless(decoded):
    frame = ether(MPLS(label=100, s=0), MPLS(label=16, s=1), IP4)
    got = decoded(ETHERNET, [(frame[:14 + 6], len(frame)), (frame[:14 + 8], len(frame)),
                             frame[:14 + 6]])
    assert [g.status for g in got] == ["truncated", "truncated", "malformed"]
    labels = by_hand(b"\x88\x47", bytes(MPLS(label=1, s=0)) * 200, bytes(MPLS(s=1)), bytes(IP4))
    assert decoded(ETHERNET, [labels])[0].status == "malformed"


#: a control word (RFC 4448): first nibble 0, then flags, fragment bits, length and a
#: sequence number, here 0 or 0x1234
CW_ZERO, CW_SEQ = b"\x00\x00\x00\x00", b"\x00\x00\x12\x34"
#: customer addresses: manufacturers' (Intel, VMware: tshark knows both), locally
#: administered (02:, 0a:), a multicast group
VENDORS = {"dst": "00:1b:21:11:22:33", "src": "00:50:56:aa:bb:cc"}
LOCAL = {"dst": "0a:00:00:00:00:01", "src": "0a:00:00:00:00:02"}
CUSTOMER = {"dst": "02:00:5e:00:00:0d", "src": "02:00:5e:00:00:0c"}
ZEROS = {"dst": "02:00:00:00:00:01", "src": "02:00:00:00:00:02"}
GROUP = {"dst": "01:00:5e:00:00:01", "src": "00:50:56:aa:bb:cc"}


def pseudowire(cw: bytes, macs: dict, *inner) -> bytes:
    """An Ethernet pseudowire: one label, the control word (or none), the customer frame."""
    customer = Ether(**macs)
    for layer in inner:
        customer = customer / layer
    return ether(MPLS(label=100, s=1, ttl=64), Raw(cw + bytes(customer)))


def pseudowires() -> list[tuple[bytes, tuple, bool]]:
    """(frame, what the decoder must see, whether tshark 4.0 reads it so too). A first
    nibble of 0 after the bottom label is a control word or a customer address starting
    with a 0 nibble; the customer frame's type field, at byte 16 or at byte 12, tells."""
    arp = ARP(psrc=A4, pdst=B4)
    return [
        (pseudowire(CW_SEQ, CUSTOMER, IP4), v4(), True),
        (pseudowire(CW_SEQ, VENDORS, IP6), v6(), True),
        (pseudowire(CW_ZERO, VENDORS, Dot1Q(vlan=30), IP4), v4(), True),  # inner tag: not ours
        (pseudowire(b"", VENDORS, IP4), v4(), True),  # no control word (a Cisco default)
        (pseudowire(b"", VENDORS, Dot1Q(vlan=30), IP6), v6(), True),
        (pseudowire(b"", VENDORS, arp), non_ip(), True),  # ARP: its protocol type is not ours
        (pseudowire(CW_SEQ, CUSTOMER, arp), non_ip(), True),
        # tshark's manufacturer guess errs: addresses it does not know, so a control word
        # read into the frame ...
        (pseudowire(b"", LOCAL, IP4), v4(), False),
        (pseudowire(b"", GROUP, IP6), v6(), False),
        # ... and a zero word whose bytes, with the addresses', read as two of Xerox's
        (pseudowire(CW_ZERO, ZEROS, IP4), v4(), False),
    ]


def test_ethernet_pseudowires_with_and_without_a_control_word(decoded):
    cases = pseudowires()
    assert decoded(ETHERNET, [f for f, _, _ in cases]) == [seen for _, seen, _ in cases]


def test_a_pseudowire_too_short_to_tell_keeps_the_control_word(decoded):
    """Without 18 bytes from where the frame would start (its type field and what
    follows, ARP's protocol type) the word is read, as RFC 8469 recommends: cut there,
    the frame is short."""
    frame = pseudowire(b"", VENDORS, IP4)
    mpls_end = 14 + 4
    assert decoded(ETHERNET, [frame[:mpls_end + 17], (frame[:mpls_end + 17], len(frame))]) == [
        ("malformed", 0, None, None, None, 0, 0, None),
        ("truncated", 0, None, None, None, 0, 0, None)]


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
def test_pseudowires_as_tshark_reads_them(tmp_path):
    """The same frames through tshark 4.0: where its manufacturer guess is right it shows
    the decoder's ports; where pcaps/README.md says it errs it shows none."""
    cases = pseudowires()
    path = write_pcap(tmp_path / "pw.pcap", [(i * 1000, f) for i, (f, _, _) in enumerate(cases)],
                      linktype=ETHERNET)
    for row, (_, seen, agrees) in zip(oracle(path), cases, strict=True):
        ports = (row.src_port or 0, row.dst_port or 0)
        assert ports == ((seen[5], seen[6]) if agrees else (0, 0)), (row.number, row.protocols)


# ------------------------------------------------------------------ PPPoE

def test_pppoe_sessions(decoded):
    """A session header (6 bytes) and PPP's protocol (2) before IP; the discovery stage
    and PPP's control protocols carry none."""
    assert decoded(ETHERNET, [
        ether(PPPoE(sessionid=7), PPP(proto=0x0021), IP4),
        ether(PPPoE(sessionid=7), PPP(proto=0x0057), IP6),
        by_hand(tag(0x8100, 300, 0x8864), bytes(PPPoE(sessionid=7) / PPP(proto=0x0021) / IP4)),
        ether(PPPoE(sessionid=7), PPP(proto=0xC021), Raw(bytes(8))),  # LCP
        ether(PPPoED(code=0x09), Raw(bytes(8))),  # PADI, type 0x8863
    ]) == [v4(), v6(), v4(300), non_ip(), non_ip()]


def test_the_pppoe_length_ends_the_packet(decoded):
    """What follows the session's length is padding, not the packet: an IP packet cut by
    it is malformed, whatever the snaplen did; bytes after it change nothing."""
    whole = ether(PPPoE(sessionid=7), PPP(proto=0x0021), IP4)
    padded = whole + bytes(30)
    short_ip = ether(PPPoE(sessionid=7, len=2 + 20 + 3), PPP(proto=0x0021), IP4)  # 3 TCP bytes
    got = decoded(ETHERNET, [padded, short_ip, (short_ip[:14 + 6 + 2 + 20 + 2], len(short_ip)),
                             (whole[:14 + 7], len(whole))])
    assert got[0] == v4()
    assert [g.status for g in got[1:]] == ["malformed", "truncated", "truncated"]


@pytest.mark.parametrize("cut", range(14, 14 + 8))
def test_pppoe_header_cut(decoded, cut):
    frame = ether(PPPoE(sessionid=7), PPP(proto=0x0021), IP4)
    assert decoded(ETHERNET, [(frame[:cut], len(frame))])[0].status == "truncated"


def test_pppoe_with_a_one_byte_ppp_protocol(decoded):
    """PPP's protocol field compressed to one byte (odd: 0x21 IPv4, 0x57 IPv6), which
    RFC 2516 leaves allowed over PPPoE (it forbids address and control compression) and
    tshark reads: it was taken for the two bytes 0x21 0x45, no IP. The session length
    counts the one byte."""
    def session(proto: bytes, packet, length: int | None = None) -> bytes:
        ppp = proto + bytes(packet)
        size = (len(ppp) if length is None else length).to_bytes(2, "big")
        return by_hand(b"\x88\x64", bytes([0x11, 0, 0, 7]), size, ppp, bytes(12))  # padding

    # a session length that holds the protocol byte, the IPv4 header and 4 bytes of TCP:
    # the ports; one byte less leaves 3 (the padding after is not the packet's)
    malformed = ("malformed", 4, A4, B4, None, 0, 0, None)
    assert decoded(ETHERNET, [session(b"\x21", IP4), session(b"\x57", IP6),
                              session(b"\x00\x21", IP4), session(b"\x21", IP4, 1 + 20 + 4),
                              session(b"\x21", IP4, 1 + 20 + 3)]) == [
        v4(), v6(), v4(), v4(), malformed]


def test_a_deep_label_stack_behind_qinq_is_read(decoded):
    """Two tags and sixteen labels (a segment-routing stack behind QinQ): 18 headers,
    past the 16 followed before; 64 are now, as README's `malformed` row says, and the
    65th is one too many."""
    def frame(n_labels: int) -> bytes:
        labels = b"".join(bytes(MPLS(label=100 + k, s=0)) for k in range(n_labels - 1))
        return by_hand(tag(0x88A8, 10, 0x8100), tag(0x8100, 20, 0x8847)[2:],
                       labels + bytes(MPLS(s=1)), bytes(IP4))

    assert decoded(ETHERNET, [frame(16), frame(62), frame(63)]) == [
        v4(10), v4(10), ("malformed", 0, None, None, None, 0, 0, 10)]
