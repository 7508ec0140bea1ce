#!/usr/bin/python3
"""Checks of TLS reports (RFC 8460) by other implementations than tlsgate's own.

  tlsrpt_check.py schema SCHEMA FILE...        each FILE (JSON, or gzip'd JSON) is valid
  tlsrpt_check.py mail SCHEMA PUBKEY.txt FILE   FILE is a 5.3 report mail: multipart/report;
        report-type=tlsrpt, TLS-Report-Domain/-Submitter, one application/tlsrpt+gzip part whose
        JSON is valid, and its DKIM signature verifies (dkimpy) against the TXT record in
        PUBKEY.txt (the DNS answer is given, not looked up); prints the report's JSON
  tlsrpt_check.py counts FILE                  prints "policy-type total-ok total-fail" per policy
"""
import email
import email.policy
import gzip
import json
import sys

import jsonschema


def load(path):
    data = open(path, 'rb').read()
    if data[:2] == b'\x1f\x8b':
        data = gzip.decompress(data)
    return json.loads(data)


def schema_check(schema_path, docs):
    schema = json.load(open(schema_path))
    for d in docs:
        jsonschema.validate(d, schema)


def main():
    cmd = sys.argv[1]
    if cmd == 'schema':
        schema_check(sys.argv[2], [load(p) for p in sys.argv[3:]])
        return 0
    if cmd == 'counts':
        for p in load(sys.argv[2])['policies']:
            print(p['policy']['policy-type'], p['summary']['total-successful-session-count'],
                  p['summary']['total-failure-session-count'])
        return 0
    if cmd == 'mail':
        import dkim
        raw = open(sys.argv[4], 'rb').read()
        # a stored copy may have LF line ends (Postfix's queue): DKIM is over CRLF
        if b'\r\n' not in raw:
            raw = raw.replace(b'\n', b'\r\n')
        txt = open(sys.argv[3], 'rb').read().strip()

        def dnsfunc(name, timeout=5):
            return txt

        if not dkim.verify(raw, dnsfunc=dnsfunc):
            print('DKIM signature does not verify', file=sys.stderr)
            return 1
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        if msg.get_content_type() != 'multipart/report' or \
                msg.get_param('report-type') != 'tlsrpt':
            print('not multipart/report; report-type=tlsrpt:', msg['Content-Type'],
                  file=sys.stderr)
            return 1
        if not msg['TLS-Report-Domain'] or not msg['TLS-Report-Submitter']:
            print('TLS-Report-Domain/-Submitter missing', file=sys.stderr)
            return 1
        parts = [p for p in msg.iter_parts() if p.get_content_type() == 'application/tlsrpt+gzip']
        if len(parts) != 1:
            print('%d application/tlsrpt+gzip parts' % len(parts), file=sys.stderr)
            return 1
        if not parts[0].get_filename('').endswith('.json.gz'):
            print('attachment name', parts[0].get_filename(), file=sys.stderr)
            return 1
        doc = json.loads(gzip.decompress(parts[0].get_content()))
        schema_check(sys.argv[2], [doc])
        if doc['policies'][0]['policy']['policy-domain'] != str(msg['TLS-Report-Domain']):
            print('TLS-Report-Domain differs from the report', file=sys.stderr)
            return 1
        print(json.dumps(doc))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main())
