#!/usr/bin/python3
# An MTA-STS policy server for the e2e tests: HTTPS on ADDR:PORT with CERT/KEY, serving
# /.well-known/mta-sts.txt per Host from files in WWW: WWW/HOST is the body (text/plain), and
# WWW/HOST.status, when present, the HTTP status instead of 200 (with a Location header: a
# redirect to follow, if the client wrongly would); WWW/HOST.chunked, when present, has the body
# sent with chunked transfer coding in 7-byte chunks; WWW/HOST.noclen: no Content-Length, the
# close ends the body, without close_notify (a TCP FIN alone, as a cut by anyone on the path
# looks) unless WWW/HOST.clean exists too, or with a TCP RST if WWW/HOST.rst does.  Every request is logged to stdout as
# "request HOST PATH".  Prints "ready" once it listens.
#   sts_server.py ADDR PORT CERT KEY WWW
import http.server
import os
import socket
import ssl
import struct
import sys
import time

addr, port, cert, key, www = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        host = (self.headers.get("Host") or "").split(":")[0]
        print("request %s %s" % (host, self.path), flush=True)
        path = os.path.join(www, os.path.basename(host))
        if self.path != "/.well-known/mta-sts.txt" or not os.path.exists(path):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if os.path.exists(path + ".status"):
            with open(path + ".status") as f:
                code = int(f.read().strip())
            self.send_response(code)
            self.send_header("Location", "https://mta-sts.a.example.net/.well-known/mta-sts.txt")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with open(path, "rb") as f:
            body = f.read()
        if os.path.exists(path + ".chunked"):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=us-ascii")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(body), 7):
                part = body[i:i + 7]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        if os.path.exists(path + ".noclen"):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            self.close_connection = True
            if os.path.exists(path + ".rst"):
                # after the client has read the body: a reset loses no data, it only ends
                time.sleep(0.3)
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                socket.socket(fileno=self.connection.detach()).close()
                return
            if os.path.exists(path + ".clean"):
                try:
                    self.connection.unwrap()   # close_notify
                except OSError:
                    pass
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv = http.server.ThreadingHTTPServer((addr, port), Handler)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print("ready", flush=True)
srv.serve_forever()
