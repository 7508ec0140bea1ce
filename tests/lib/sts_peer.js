// The other MTA-STS implementation (mailauth's lib/mta-sts.js, strict RFC 8461 mode) asked the
// same questions as tlsgated in tests/e2e/test_mta_sts.sh: one line per domain,
//   DOMAIN policy MODE ID MX,MX,...     or     DOMAIN none REASON     or     DOMAIN fail CODE
//   node sts_peer.js MTA_STS_JS NAMESERVER DOMAIN...
// (The test CA comes in through NODE_EXTRA_CA_CERTS.)
'use strict';
const dns = require('node:dns');
const sts = require(process.argv[2]);
const r = new dns.promises.Resolver({ timeout: 2000, tries: 1 });
r.setServers([process.argv[3]]);
const resolver = (name, type) => r.resolve(name, type);

(async () => {
    for (const domain of process.argv.slice(4)) {
        try {
            const id = await sts.resolvePolicy(domain, { resolver, strict: true });
            if (!id) {
                console.log(`${domain} none no-record`);
                continue;
            }
            const p = await sts.fetchPolicy(domain, { resolver, strict: true, timeout: 5000 });
            if (!p) {
                console.log(`${domain} none no-host`);
                continue;
            }
            console.log(`${domain} policy ${p.mode} ${id} ${(p.mx || []).join(',')}`);
        } catch (err) {
            console.log(`${domain} fail ${err.code || err.message}`);
        }
    }
})();
