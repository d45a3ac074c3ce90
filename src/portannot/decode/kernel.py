"""The per-record loop: link layer -> ethertype steps -> IP -> extension steps -> ports.

One compiled pass over a batch, writing straight into the PacketBatch columns.
The analyzers are loop-free and handle one header each; the loops over stacked
headers (VLAN tags, MPLS labels, IPv6 extensions) live here, bounded, which is
also what lets the compiler keep the common path short. Every read is checked
against the record's captured end, itself clipped to the buffer, so no input
makes the decoder read outside its record.
"""

from __future__ import annotations

import numpy as np

from portannot import status as S
from portannot import transport as T
from portannot.compiled import borrow, kernel, njit, prefetch
from portannot.decode.columns import NO_TCP_HEADER, NO_VLAN
from portannot.decode.ethertype import ETH_HEADER, IPV4, IPV6, LLC, MAX_LAYERS, ether_step, less_fcs
from portannot.decode.fields import CONTINUE, IPV6_INSTEAD, PAST_END, SHORT, at
from portannot.decode.fragments import recall, remember
from portannot.decode.ip import (
    AH,
    FIRST_FRAGMENT,
    LATER_FRAGMENT,
    MAX_EXTENSIONS,
    NOT_FRAGMENT,
    fragment_place,
    ipv4,
    ipv6,
    ipv6_extension,
    is_ipv6_extension,
)
from portannot.decode.link import link_layer
from portannot.decode.ports import transport_ports

#: how many records ahead the decoder asks for the next headers
AHEAD = 8


@njit(cache=True, nogil=True, inline="always")
def _final(status, cut, first_fragment):
    """The status of a layer's SHORT (the bytes ran out) and PAST_END (the IP payload ran
    out): in a first fragment the IP payload is the fragment's, and a header it ends
    before continues in the next fragment (tshark: an unreassembled fragment). So does
    one the frame's end cuts short on the wire under an IP length past it: tshark's
    payload of a first fragment is a fragment's, whose end is never a malformed one."""
    if status == SHORT:
        if cut:
            return S.TRUNCATED
        return S.FRAGMENT if first_fragment else S.MALFORMED
    if status == PAST_END:
        return S.FRAGMENT if first_fragment else S.MALFORMED
    return status


@kernel(
    "none("
    "u1[::1], i8[::1], u4[::1], u4[::1], u2[::1], u1[::1], u1[::1], u1[::1], u1[::1], u8[:, ::1], "
    "u4[::1], u1[::1], i8[::1], i8[::1], i8[::1], u2[::1], u1[::1], u8[:, ::1], u8[:, ::1], "
    "u1[::1], u1[::1], u2[::1], u2[::1], u2[::1], u4[::1], u1[::1])"
)
def decode_records(data, offset, caplen, length, linktype, fcs, link_table, ether_table, proto_table,
                   f_keys, f_ports, f_transport, f_end, f_stamp, f_clock,
                   vlan, ip_version, src_addr, dst_addr, ip_proto, transport,
                   src_port, dst_port, tcp_flags, tcp_seq, status):
    """src_addr and dst_addr are (n, 2) uint64 views of the (n, 16) address columns."""
    data, src_addr, dst_addr = borrow(data), borrow(src_addr), borrow(dst_addr)
    f_keys, f_ports, f_transport = borrow(f_keys), borrow(f_ports), borrow(f_transport)
    f_end, f_stamp, f_clock = borrow(f_end), borrow(f_stamp), borrow(f_clock)
    key = np.empty(5, dtype=np.uint64)
    size = data.shape[0]
    n = offset.shape[0]
    for i in range(n):
        if i + AHEAD < n:  # the headers a few records on, while this one decodes
            prefetch(data, offset[i + AHEAD])
        p = offset[i]
        end = p + np.int64(caplen[i])
        if end > size:
            end = size
        cut = caplen[i] < length[i]
        frame_end = end
        vlan[i] = NO_VLAN
        # where the packet ends on the wire (past the captured end where the snaplen cut
        # it), less the FCS the file says the frame ends with (the pcap header's FCS bits,
        # pcapng's if_fcslen and epb_flags: RecordBatch.fcs, an Ethernet frame's only),
        # taken off what follows its Ethernet header, the LLC an 802.3 length leads to
        # too; and, in the loop, each FCS a bridged frame names (ethertype.bcp)
        frame_wire = p + np.int64(length[i])  # the link analyzers take the whole frame's
        wire = frame_wire
        if fcs[i]:
            wire, end = less_fcs(wire, end, p + ETH_HEADER, np.int64(fcs[i]))
        p, ethertype, end, ends, st = link_layer(link_table, np.int64(linktype[i]), data, p,
                                                 end, frame_wire, wire)
        # an 802.3 length ends the packet on the wire too (an Ethernet frame's, or one
        # in a cooked header or an 802.11 body); one past the frame's end (PAST_FRAME) is
        # what tshark flags malformed (the 802.3 header's "Length field value goes past
        # the end of the payload"), whatever the snaplen cut: what is short is not cut
        cut = cut and ends <= wire
        wire = min(wire, ends)
        kind = ether_table[at(ethertype)]
        layers = 0
        tag_layer = 1  # where the frame's tag may be: right after the link header
        while st == CONTINUE and kind != IPV4 and kind != IPV6:
            layers += 1
            if layers > MAX_LAYERS:
                st = S.MALFORMED
                break
            if kind == LLC and layers == tag_layer:  # 0x8870's LLC/SNAP is the link's own,
                tag_layer += 1  # as after an 802.3 length: a tag behind it is the frame's
            # a header that ended the packet before the captured end (a PPPoE length, an
            # FCS) ended it there on the wire too
            wire = end if end < frame_end else wire
            p, ethertype, vid, end, ends, st = ether_step(kind, data, p, end, wire)
            cut = cut and ends <= wire  # an 802.3 length after a tag, as above
            wire = min(wire, ends)
            if vid >= 0 and layers == tag_layer:  # the frame's tag: the first, right after
                vlan[i] = vid  # the link header (not one in a pseudowire or backbone frame)
            kind = ether_table[at(ethertype)]
        if cut and (end < frame_end or end >= wire):
            # a PPPoE or 802.3 length or an FCS ends the packet early, or the snaplen cut
            # the frame no sooner than its FCS: what is short of the packet was not cut by
            # the snaplen, it is malformed
            cut = False
        if st != CONTINUE:
            status[i] = _final(st, cut, False)
            continue
        frag = np.int64(NOT_FRAGMENT)
        ident = 0
        # where an IP length of 0 (TSO, BIG TCP) ends the packet: the frame's end, on the
        # wire where the snaplen cut it (a header past the cut is truncated, not past the
        # packet's end), less a bridged frame's FCS
        whole = wire if cut else end
        if kind == IPV4:
            q, ip_end, proto, frag, ident, st = ipv4(data, p, end, whole, src_addr, dst_addr, i)
            if st == IPV6_INSTEAD:  # version 6 where IPv4 was announced (its failure path)
                kind = np.uint8(IPV6)
        if kind == IPV4:
            version = 4
            word = p + 6  # the fragment word: flags and offset
            # what every fragment of the datagram names, its first one and its later ones
            frag_proto = proto
            hops = 0
            while st == CONTINUE and frag != LATER_FRAGMENT and proto == AH:
                hops += 1  # transport-mode IPsec: AH before the transport, as in IPv6
                if hops > MAX_EXTENSIONS:
                    st = S.MALFORMED
                    break
                q, proto, fkind, fid, st = ipv6_extension(data, q, ip_end, end, proto, dst_addr, i)
        else:
            q, ip_end, proto, st = ipv6(data, p, end, whole, src_addr, dst_addr, i)
            version = 6
            word = p  # set at the Fragment header, if there is one
            frag_proto = proto
            hops = 0
            while st == CONTINUE and frag != LATER_FRAGMENT and is_ipv6_extension(proto):
                hops += 1
                if hops > MAX_EXTENSIONS:
                    st = S.MALFORMED
                    break
                at_header = q
                q, proto, fkind, fid, st = ipv6_extension(data, q, ip_end, end, proto, dst_addr, i)
                if fkind != NOT_FRAGMENT:
                    frag = fkind
                    ident = fid
                    word = at_header + 2  # the Fragment header's offset and M flag
                    # the Fragment header's next header: the same in the first fragment
                    # and the later ones, whatever headers follow it before the transport
                    frag_proto = proto
        if st == CONTINUE and q > ip_end:  # an extension header runs past the IP payload
            st = np.int64(PAST_END)
        if q > p:  # the fixed header was there: the addresses are real
            ip_version[i] = version
        ip_proto[i] = proto
        if st != CONTINUE:
            status[i] = _final(st, cut, frag == FIRST_FRAGMENT)
            if frag == FIRST_FRAGMENT:  # a datagram without ports: its later fragments get none
                remember(f_keys, f_ports, f_transport, f_end, f_stamp, f_clock, src_addr, dst_addr,
                         i, version, frag_proto, ident, T.NONE, 0, 0, key)
            continue
        code = proto_table[proto]
        if frag == LATER_FRAGMENT:
            s = recall(f_keys, f_ports, f_transport, f_stamp, src_addr, dst_addr, i, version,
                       frag_proto, ident, key)
            if s >= 0:
                start, more = fragment_place(data, word, version)
                if f_transport[s] == T.NONE or (f_end[s] != 0 and start >= f_end[s]):
                    # its first fragment gave no ports, or the remembered datagram ended
                    # before this fragment starts: the identification's next datagram
                    s = -1
                elif not more and f_end[s] == 0:  # the last fragment: the datagram ends here
                    f_end[s] = start + (ip_end - q)
            if s < 0:
                # a header that leads on to a transport (an IPv6 extension, AH) may hide one
                may_carry = code != T.NONE or proto == AH or (
                    version == 6 and is_ipv6_extension(proto))
                status[i] = S.FRAGMENT if may_carry else S.NO_PORTS
                continue
            transport[i] = f_transport[s]
            src_port[i] = f_ports[s] >> 16
            dst_port[i] = f_ports[s] & 0xFFFF
            if f_transport[s] == T.TCP:  # the ports are the first fragment's; no flags here
                tcp_flags[i] = NO_TCP_HEADER
            status[i] = S.PORTS
            continue
        if code == T.NONE:
            sport, dport, flags, seq, st = 0, 0, 0, 0, S.NO_PORTS
        else:
            # an IP length past the frame ends the payload at the frame's end on the wire,
            # as tshark reads it: a port the snaplen cut that also runs past that end is
            # malformed, not cut (an uncut frame's ports are short of the frame either way);
            # where the snaplen cut a header before the ports (AH, a routing header), tshark
            # stops there, and that header, cut, is truncated
            sport, dport, flags, seq, st = transport_ports(
                data, q, min(ip_end, wire) if cut and q <= end else ip_end, end, code)
        if st == S.PORTS:
            transport[i] = code
            src_port[i] = sport
            dst_port[i] = dport
            tcp_flags[i] = flags
            tcp_seq[i] = seq
            status[i] = S.PORTS
        else:
            status[i] = _final(st, cut, frag == FIRST_FRAGMENT)
            code = T.NONE
        if frag == FIRST_FRAGMENT:  # its datagram, with the ports or without (T.NONE)
            remember(f_keys, f_ports, f_transport, f_end, f_stamp, f_clock, src_addr, dst_addr, i,
                     version, frag_proto, ident, code, sport, dport, key)
