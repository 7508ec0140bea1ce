#!/usr/bin/python3
"""A Grafana dashboard's queries against what tlsgatectl really exposes.

  grafana_check.py DASHBOARD.json PROM.txt

PROM.txt: `tlsgatectl stats --prometheus` of a running tlsgated with its BPF half.  Checks
every PromQL expression of the dashboard (panel targets, template variable queries):
  - each metric it names (tlsgate_*) is a family in PROM.txt with samples;
  - each label matcher names a label of that metric (instance and job, which Prometheus adds
    when it scrapes, and template variables aside), and an `=` value or `=~` regular expression
    matches a value PROM.txt has;
  - rate()/increase() only of counters, never of gauges;
  - the labels of `by (...)` and of a legend's {{label}} are labels of the expression's metrics.
Prints the metrics queried and the families nobody queries; exit status 1 with each fault on
stderr.
"""
import json
import re
import sys

SCRAPE_LABELS = {'instance', 'job'}


def load_prom(path):
    types, series = {}, {}
    for line in open(path):
        line = line.rstrip('\n')
        if line.startswith('# TYPE '):
            _, _, name, typ = line.split(' ', 3)
            types[name] = typ
            continue
        if not line or line.startswith('#'):
            continue
        m = re.match(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? \S+$', line)
        if not m:
            raise ValueError('cannot read: ' + line)
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ''))
        series.setdefault(m.group(1), []).append(labels)
    return types, series


def exprs(dash):
    """(where, expr, legend) of every query."""
    out = []

    def panels(ps):
        for p in ps:
            for t in p.get('targets', []):
                if t.get('expr'):
                    out.append(('panel %r' % p.get('title'), t['expr'], t.get('legendFormat', '')))
            panels(p.get('panels', []))

    panels(dash.get('panels', []))
    for v in dash.get('templating', {}).get('list', []):
        q = v.get('query')
        if isinstance(q, dict):
            q = q.get('query')
        if v.get('type') == 'query' and q:
            m = re.match(r'label_values\(\s*([^,]+),\s*(\w+)\s*\)$', q)
            out.append(('variable %r' % v['name'], m.group(1) if m else q, ''))
    return out


SELECTOR = re.compile(r'\b(tlsgate_[a-zA-Z0-9_:]*)(\{([^}]*)\})?')
MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*,?')


def check(dash, types, series):
    bad, used = [], set()
    for where, expr, legend in exprs(dash):
        labels = set(SCRAPE_LABELS)
        names = []
        for m in SELECTOR.finditer(expr):
            name = m.group(1)
            names.append(name)
            used.add(name)
            if name not in series:
                bad.append('%s: %s is not in tlsgatectl stats --prometheus' % (where, name))
                continue
            have = series[name]
            for s in have:
                labels.update(s)
            body = m.group(3) or ''
            pos = 0
            while pos < len(body):
                mm = MATCHER.match(body, pos)
                if not mm:
                    bad.append('%s: cannot read the matchers {%s}' % (where, body))
                    break
                pos = mm.end()
                lbl, op, val = mm.groups()
                if lbl in SCRAPE_LABELS or '$' in val:
                    continue
                values = {s[lbl] for s in have if lbl in s}
                if not values:
                    bad.append('%s: %s has no label %s' % (where, name, lbl))
                elif op == '=' and val not in values:
                    bad.append('%s: %s{%s} matches nothing (values: %s)'
                               % (where, name, mm.group(0).strip(' ,'), sorted(values)))
                elif op == '=~' and not any(re.fullmatch(val, v) for v in values):
                    bad.append('%s: %s{%s} matches nothing' % (where, name, mm.group(0).strip(' ,')))
        if not names:
            bad.append('%s: no tlsgate metric in %r' % (where, expr))
        for fn in re.finditer(r'\b(rate|irate|increase)\(\s*(tlsgate_[a-zA-Z0-9_:]*)', expr):
            if types.get(fn.group(2)) != 'counter':
                bad.append('%s: %s() of %s, a %s' % (where, fn.group(1), fn.group(2),
                                                      types.get(fn.group(2))))
        for by in re.finditer(r'\b(?:by|without)\s*\(([^)]*)\)', expr):
            for lbl in filter(None, (x.strip() for x in by.group(1).split(','))):
                if lbl not in labels:
                    bad.append('%s: by (%s): no such label on %s' % (where, lbl, names))
        for lbl in re.findall(r'\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}', legend):
            if lbl not in labels:
                bad.append('%s: legend {{%s}}: no such label on %s' % (where, lbl, names))
    return bad, used


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    dash = json.load(open(argv[1]))
    types, series = load_prom(argv[2])
    bad, used = check(dash, types, series)
    print('queried: %s' % ' '.join(sorted(used)))
    print('not queried: %s' % ' '.join(sorted(set(series) - used)))
    for b in bad:
        print('grafana_check: ' + b, file=sys.stderr)
    return 1 if bad or not used else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
