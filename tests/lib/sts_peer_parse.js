// The other side of tests/e2e/test_mta_sts_parsers.sh: mailauth's RFC 8461 parsers (strict
// mode) on the same files, printing what tests/e2e/helper_sts_parse prints for tlsgate.
//   node sts_peer_parse.js MTA_STS_JS policy|txt FILE...
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const sts = require(process.argv[2]);
const mode = process.argv[3];

(async () => {
    for (const file of process.argv.slice(4)) {
        const name = path.basename(file);
        const text = fs.readFileSync(file, 'latin1');
        if (mode === 'policy') {
            try {
                const p = sts.parsePolicy(text, { strict: true });
                const mx = [...new Set(p.mx || [])].sort();
                console.log(`${name} ok ${p.mode} ${p.maxAge} ${mx.join(',')}`);
            } catch (err) {
                console.log(`${name} invalid`);
            }
        } else {
            const records = text.split('\n').filter(r => r.length).map(r => [r]);
            try {
                const id = await sts.resolvePolicy('example.org', {
                    resolver: async () => records,
                    strict: true
                });
                console.log(id ? `${name} id ${id}` : `${name} noid`);
            } catch (err) {
                const what = err.code === 'multi_sts_records' ? 'multi' : 'error ' + err.code;
                console.log(`${name} ${what}`);
            }
        }
    }
})();
