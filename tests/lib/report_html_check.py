#!/usr/bin/python3
"""Checks of the page `tlsgatectl report --html` writes, as a browser built its DOM.

  report_html_check.py dom DOM.html REPORT.json [--text S]...
      DOM.html: the page's DOM (chromium --dump-dom), REPORT.json: `report -j` for the same
      window.  Every number the page shows equals the JSON's (data-j: a path, "*" summing over
      an array, "#" an array's length, {"sub": [A, B]} a difference; data-js: a string, a dash
      for null; data-pct: the share A/B as "71.4%"; data-bar: an SVG bar's height is the share
      A/B of data-full).  Each domain of the JSON has its row in "what a rule would change", in
      the JSON's order; "domains not encrypted" lists exactly those whose verdict is none; the
      monitor table exactly those with would_refuse.total > 0; a row per day with data (a
      section said to be empty: report -j has no sessions in that direction).  Nothing
      can run or load: no script, iframe, object, embed, img, link or base element, no on*
      attribute, no href or src.  Each --text S is the whole text of some element (a hostile
      name stayed text).  Prints what it checked; exit status 1 with each mismatch on stderr.
  report_html_check.py png FILE WIDTH HEIGHT
      FILE is a PNG of WIDTH x HEIGHT pixels that is not blank: at least 8 distinct colours and
      no colour on more than 97% of the pixels.  Prints its size and colour count.
"""
import html.parser
import json
import struct
import sys
import zlib

FORBIDDEN_TAGS = {'script', 'iframe', 'object', 'embed', 'img', 'link', 'base', 'frame', 'frameset',
                  'meta-refresh', 'form', 'audio', 'video', 'source'}
VOID = {'area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track',
        'wbr'}


class Dom(html.parser.HTMLParser):
    """Each element with a data-j/-js/-pct attribute and its whole text; bars; faults."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []          # [tag, attrs, text parts]
        self.values = []         # (attrs, text)
        self.bars = []           # attrs of elements with data-bar
        self.rows = []           # (class, data-domain or data-date, section id)
        self.texts = set()
        self.faults = []
        self.section = None
        self.sections = set()
        self.empty = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in FORBIDDEN_TAGS:
            self.faults.append('a <%s> element' % tag)
        if tag == 'meta' and a.get('http-equiv', '').lower() == 'refresh':
            self.faults.append('a meta refresh')
        for k in a:
            if k.startswith('on') or k in ('href', 'src', 'srcset', 'action', 'formaction'):
                self.faults.append('attribute %s on <%s>' % (k, tag))
        if tag == 'section':
            self.section = a.get('data-dir')
            self.sections.add(self.section)
            if a.get('class') == 'empty':
                self.empty.add(self.section)
        if 'data-bar' in a:
            self.bars.append(a)
        if tag == 'tr' and ('data-domain' in a or 'data-date' in a):
            self.rows.append((a.get('class', 'days'), a.get('data-domain', a.get('data-date')),
                              self.section))
        if tag in VOID:
            return
        self.stack.append([tag, a, []])

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        while self.stack:
            t, a, parts = self.stack.pop()
            text = ''.join(parts)
            self.texts.add(text)
            if self.stack:
                self.stack[-1][2].append(text)
            if any(k in a for k in ('data-j', 'data-js', 'data-pct')):
                self.values.append((a, text))
            if t == tag:
                break

    def handle_data(self, data):
        if self.stack:
            self.stack[-1][2].append(data)


def resolve(doc, path):
    """The value at path; "*" sums the rest over an array, "#" is its length; a key missing
    after a "*" (a version one domain never saw) counts 0."""
    if isinstance(path, dict):
        a, b = path['sub']
        return resolve(doc, a) - resolve(doc, b)
    cur = doc
    for i, k in enumerate(path):
        if k == '*':
            return sum(resolve_opt(e, path[i + 1:]) for e in cur)
        if k == '#':
            return len(cur)
        cur = cur[k]
    return cur


def resolve_opt(doc, path):
    try:
        return resolve(doc, path)
    except (KeyError, IndexError):
        return 0


def check_dom(dom_path, json_path, texts):
    doc = json.load(open(json_path))
    p = Dom()
    p.feed(open(dom_path, encoding='utf-8').read())
    p.close()
    bad = list(p.faults)
    n = {'numbers': 0, 'strings': 0, 'shares': 0, 'bars': 0}
    for a, text in p.values:
        try:
            if 'data-j' in a:
                want = resolve(doc, json.loads(a['data-j']))
                n['numbers'] += 1
                if text.strip() != str(want):
                    bad.append('%s: page %r, report -j %r' % (a['data-j'], text, want))
            if 'data-js' in a:
                want = resolve(doc, json.loads(a['data-js']))
                n['strings'] += 1
                if text != (want if want is not None else '\u2014'):
                    bad.append('%s: page %r, report -j %r' % (a['data-js'], text, want))
            if 'data-pct' in a:
                x, y = json.loads(a['data-pct'])
                want = '%.1f%%' % (100.0 * resolve(doc, x) / resolve(doc, y))
                n['shares'] += 1
                if text.strip() != want:
                    bad.append('%s: page %r, report -j %r' % (a['data-pct'], text, want))
        except (KeyError, IndexError, TypeError, ValueError, ZeroDivisionError) as e:
            bad.append('%r: cannot read: %r' % (a, e))
    for a in p.bars:
        x, y = json.loads(a['data-bar'])
        want = float(a['data-full']) * resolve(doc, x) / resolve(doc, y)
        n['bars'] += 1
        if abs(float(a['height']) - want) > 0.051:
            bad.append('bar %s: height %s, report -j %.2f' % (a['data-bar'], a['height'], want))

    # which rows each table has
    for d in ('outbound', 'inbound'):
        doms = doc[d]
        rows = [(c, k) for c, k, s in p.rows if s == d]

        def listed(cls):
            return [k for c, k in rows if c == cls]

        if listed('rule') != [e['domain'] for e in doms]:
            bad.append('%s: rule rows %r, report -j %r' % (d, listed('rule'),
                                                            [e['domain'] for e in doms]))
        want = [e['domain'] for e in doms if e['verdict']['can'] == 'none']
        if listed('plain') != want:
            bad.append('%s: not-encrypted rows %r, report -j %r' % (d, listed('plain'), want))
        want = [e['domain'] for e in doms if e['would_refuse']['total'] > 0]
        if listed('monitor') != want:
            bad.append('%s: monitor rows %r, report -j %r' % (d, listed('monitor'), want))
        if d not in p.sections:
            if doms:
                bad.append('%s: no section, but report -j has domains' % d)
            continue
        if d in p.empty:
            if doms or any(x[d]['sessions'] or x[d]['refused']['total'] for x in doc['days']):
                bad.append('%s: said to be empty, but report -j has sessions' % d)
            continue
        want = [x['date'] for x in doc['days'] if x['data']]
        if listed('days') != want:
            bad.append('%s: day rows %r, report -j %r' % (d, listed('days'), want))
    for t in texts:
        if t not in p.texts:
            bad.append('no element whose text is %r' % t)
    for b in bad:
        print('report_html_check: ' + b, file=sys.stderr)
    print('checked %(numbers)d numbers, %(strings)d strings, %(shares)d shares, %(bars)d bars' % n)
    return 1 if bad else 0


def png_pixels(path):
    """(width, height, rows of raw pixel bytes, bytes per pixel) of an 8-bit non-interlaced PNG."""
    data = open(path, 'rb').read()
    if data[:8] != b'\x89PNG\r\n\x1a\n':
        raise ValueError('not a PNG')
    pos, idat, ihdr = 8, b'', None
    while pos < len(data):
        ln, typ = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + ln]
        if typ == b'IHDR':
            ihdr = struct.unpack('>IIBBBBB', body)
        elif typ == b'IDAT':
            idat += body
        pos += 12 + ln
    w, h, depth, ctype, _, _, interlace = ihdr
    bpp = {0: 1, 2: 3, 4: 2, 6: 4}.get(ctype)
    if depth != 8 or bpp is None or interlace:
        raise ValueError('PNG kind not handled: depth %d colour type %d' % (depth, ctype))
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 0xff
            elif f == 2:
                line[i] = (line[i] + b) & 0xff
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xff
            elif f == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 0xff
        rows.append(bytes(line))
        prev = line
    return w, h, rows, bpp


def check_png(path, want_w, want_h):
    w, h, rows, bpp = png_pixels(path)
    counts = {}
    for line in rows:
        for i in range(0, len(line), bpp):
            px = line[i:i + bpp]
            counts[px] = counts.get(px, 0) + 1
    top = max(counts.values())
    print('%s: %dx%d, %d colours, the commonest on %.1f%% of the pixels'
          % (path, w, h, len(counts), 100.0 * top / (w * h)))
    ok = (w, h) == (want_w, want_h) and len(counts) >= 8 and top <= 0.97 * w * h
    if not ok:
        print('report_html_check: %s: want %dx%d, not blank' % (path, want_w, want_h),
              file=sys.stderr)
    return 0 if ok else 1


def main(argv):
    if len(argv) >= 4 and argv[1] == 'dom':
        texts = [argv[i + 1] for i in range(4, len(argv) - 1) if argv[i] == '--text']
        return check_dom(argv[2], argv[3], texts)
    if len(argv) == 5 and argv[1] == 'png':
        return check_png(argv[2], int(argv[3]), int(argv[4]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
