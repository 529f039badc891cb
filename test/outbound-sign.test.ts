// core/outbound signs with node:crypto's HMAC instead of the standardwebhooks package's pure-JS one: the
// headers must be byte-identical to the package's own sign() and accepted by its verify(), for any body.
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { Allowlist, OutboundClient } from '../core/outbound/index.ts';

const bodies = [
  '',
  '{}',
  JSON.stringify({ id: 'job-1', name: 'billing.invoice-pdf', attempt: 1, data: { invoiceId: 'inv_42' } }),
  JSON.stringify({ text: 'ünïcödé ✓ 日本語 🚀', nested: { a: [1, 2, 3] } }),
  'x'.repeat(100_000),
  JSON.stringify({ blob: randomBytes(4096).toString('latin1') }),
];

describe('outbound signing (node:crypto) vs the standardwebhooks package', () => {
  it('gives the package’s exact signature, and its verify() accepts it, for secrets of 24 to 64 bytes', () => {
    const out = new OutboundClient({ allowlist: new Allowlist([]) });
    for (const size of [24, 32, 64]) {
      const secret = `whsec_${randomBytes(size).toString('base64')}`;
      const lib = new Webhook(secret);
      for (const [i, body] of bodies.entries()) {
        const at = new Date(Date.now() - i * 1_000);
        const id = `msg_${randomBytes(8).toString('hex')}`;
        const headers = out.sign(id, body, secret, at);
        expect(headers['webhook-id']).toBe(id);
        expect(headers['webhook-timestamp']).toBe(String(Math.floor(at.getTime() / 1000)));
        expect(headers['webhook-signature']).toBe(lib.sign(id, at, body));
        const verified = lib.verify(body, headers, { jsonParse: false });
        expect(verified).toBeUndefined(); // verify() throws on a mismatch; jsonParse off for the non-JSON bodies
      }
    }
  });

  it('a signature made with another secret is refused by verify()', () => {
    const out = new OutboundClient({ allowlist: new Allowlist([]) });
    const headers = out.sign('msg_1', '{}', `whsec_${randomBytes(32).toString('base64')}`);
    expect(() => new Webhook(`whsec_${randomBytes(32).toString('base64')}`).verify('{}', headers)).toThrow(/signature/i);
  });

  it('several secrets (a rotation’s grace): one signature each, in order, space-separated; verify() accepts either secret alone', () => {
    const platform = `whsec_${randomBytes(32).toString('base64')}`;
    const out = new OutboundClient({ allowlist: new Allowlist([]), defaultSecret: platform });
    const [a, b] = [0, 1].map(() => `whsec_${randomBytes(32).toString('base64')}`) as [string, string];
    const at = new Date();
    const body = '{"type":"job.completed"}';
    const both = out.sign('msg_2', body, [a, b], at);
    expect(both['webhook-signature']).toBe(`${new Webhook(a).sign('msg_2', at, body)} ${new Webhook(b).sign('msg_2', at, body)}`);
    for (const k of [a, b]) expect(new Webhook(k).verify(body, both)).toEqual({ type: 'job.completed' });
    expect(() => new Webhook(platform).verify(body, both)).toThrow(/signature/i);
    // an undefined entry is the default secret; a repeated secret signs once
    const withDefault = out.sign('msg_2', body, [a, undefined, a], at);
    expect(withDefault['webhook-signature']).toBe(
      `${new Webhook(a).sign('msg_2', at, body)} ${new Webhook(platform).sign('msg_2', at, body)}`,
    );
    // no default secret: its entry is skipped; nothing left to sign with is refused
    const bare = new OutboundClient({ allowlist: new Allowlist([]) });
    expect(bare.sign('msg_2', body, [a, undefined], at)['webhook-signature']).toBe(new Webhook(a).sign('msg_2', at, body));
    expect(() => bare.sign('msg_2', body, [undefined])).toThrow(/no signing secret/);
    expect(() => bare.sign('msg_2', body)).toThrow(/no signing secret/);
  });
});
