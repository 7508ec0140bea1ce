#!/usr/bin/python3
# A TLS-RPT report receiver for the e2e tests (RFC 8460 5.4): HTTPS on ADDR:PORT with CERT/KEY;
# each POST's body is stored as DIR/N.gz (N counting from 1) with its Content-Type in
# DIR/N.type.  While DIR/fail holds a number > 0 the POST is answered 503 and the number
# decremented (a receiver that is down for a while).  Prints "ready" once it listens.
#   tlsrpt_server.py ADDR PORT CERT KEY DIR
import http.server
import os
import ssl
import sys

addr, port, cert, key, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, code):
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        fail = os.path.join(out, "fail")
        if os.path.exists(fail):
            n = int(open(fail).read().strip() or 0)
            if n > 0:
                open(fail, "w").write(str(n - 1))
                print("refused %s" % self.path, flush=True)
                return self.answer(503)
        n = len([f for f in os.listdir(out) if f.endswith(".gz")]) + 1
        open(os.path.join(out, "%d.type" % n), "w").write(self.headers.get("Content-Type", ""))
        open(os.path.join(out, "%d.gz" % n), "wb").write(body)
        print("stored %s %d" % (self.path, n), flush=True)
        self.answer(201)


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv = http.server.HTTPServer((addr, port), Handler)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print("ready", flush=True)
srv.serve_forever()
