#!/usr/bin/python3
# A DNS forwarder for tests that never answers some names: a nameserver that does not respond,
# for those names only (the resolver in front of it sees a timeout, not a referral or an error).
#
#   dns_drop.py LISTEN_ADDR UPSTREAM_ADDR SUFFIX...
#
# UDP and TCP on LISTEN_ADDR:53, forwarded to UPSTREAM_ADDR:53; a query whose name ends in one
# of the SUFFIXes (case-insensitive, no trailing dot) is read and dropped, and logged on stdout.
import socket
import sys
import threading


def qname(msg):
    labels, i = [], 12
    while i < len(msg) and msg[i]:
        n = msg[i]
        labels.append(msg[i + 1:i + 1 + n].decode("ascii", "replace").lower())
        i += 1 + n
    return ".".join(labels)


def dropped(msg, suffixes):
    name = qname(msg)
    hit = any(name == s or name.endswith("." + s) for s in suffixes)
    if hit:
        print("dropped %s" % name, flush=True)
    return hit


def udp(listen, upstream, suffixes):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((listen, 53))
    while True:
        msg, peer = s.recvfrom(65535)
        if dropped(msg, suffixes):
            continue
        threading.Thread(target=udp_one, args=(s, msg, peer, upstream), daemon=True).start()


def udp_one(s, msg, peer, upstream):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(5)
    try:
        u.sendto(msg, (upstream, 53))
        ans, _ = u.recvfrom(65535)
        s.sendto(ans, peer)
    except OSError:
        pass
    finally:
        u.close()


def read_n(c, n):
    b = b""
    while len(b) < n:
        x = c.recv(n - len(b))
        if not x:
            raise OSError("closed")
        b += x
    return b


def tcp_one(c, upstream, suffixes):
    try:
        while True:
            n = int.from_bytes(read_n(c, 2), "big")
            msg = read_n(c, n)
            if dropped(msg, suffixes):
                continue
            with socket.create_connection((upstream, 53), timeout=5) as u:
                u.sendall(n.to_bytes(2, "big") + msg)
                m = int.from_bytes(read_n(u, 2), "big")
                c.sendall(m.to_bytes(2, "big") + read_n(u, m))
    except OSError:
        pass
    finally:
        c.close()


def tcp(listen, upstream, suffixes):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((listen, 53))
    s.listen(16)
    while True:
        c, _ = s.accept()
        threading.Thread(target=tcp_one, args=(c, upstream, suffixes), daemon=True).start()


def main():
    listen, upstream = sys.argv[1], sys.argv[2]
    suffixes = [x.lower().rstrip(".") for x in sys.argv[3:]]
    threading.Thread(target=udp, args=(listen, upstream, suffixes), daemon=True).start()
    tcp(listen, upstream, suffixes)


if __name__ == "__main__":
    main()
