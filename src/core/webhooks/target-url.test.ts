import { describe, expect, it } from 'vitest';
import { checkTargetUrl, isPrivateAddress } from './target-url.js';

describe('webhook target URLs', () => {
  it.each([
    '127.0.0.1',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '::1',
    '::',
    'fe80::1',
    'fd00::1',
    '::ffff:127.0.0.1',
    '[::1]',
  ])('%s is not public', (address) => {
    expect(isPrivateAddress(address)).toBe(true);
  });

  it.each(['93.184.216.34', '8.8.8.8', '2606:4700::1111', '172.32.0.1', 'example.com'])(
    '%s is not private',
    (address) => {
      expect(isPrivateAddress(address)).toBe(false);
    },
  );

  it('accepts any http or https URL, loopback included, by default', async () => {
    for (const url of [
      'http://127.0.0.1:9/hook',
      'https://localhost/x',
      'http://10.0.0.5/',
      'https://a.example/',
    ])
      await expect(checkTargetUrl(url, { denyPrivate: false })).resolves.toBeUndefined();
  });

  it('refuses what is not an absolute http(s) URL', async () => {
    for (const url of ['ftp://example.com/', 'example.com/hook', 'javascript:alert(1)', 'file:///etc/passwd'])
      await expect(checkTargetUrl(url, { denyPrivate: false })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
  });

  it('with denyPrivate, refuses private literals, localhost and names resolving to private addresses', async () => {
    const resolve = async (host: string) => (host === 'internal.example' ? ['10.0.0.7'] : ['93.184.216.34']);
    const opts = { denyPrivate: true, resolve };
    for (const url of [
      'http://127.0.0.1/',
      'http://[::1]:8080/',
      'http://localhost:3000/',
      'http://api.localhost/',
      'http://169.254.169.254/latest/meta-data',
      // The URL parser normalises these spellings of 127.0.0.1 before the check.
      'http://2130706433/',
      'http://0x7f.1/',
      'https://internal.example/hook',
    ])
      await expect(checkTargetUrl(url, opts)).rejects.toMatchObject({ code: 'WEBHOOK_URL_NOT_ALLOWED' });
    await expect(checkTargetUrl('https://public.example/hook', opts)).resolves.toBeUndefined();
  });

  it('with denyPrivate, accepts a name that does not resolve yet (each attempt checks again)', async () => {
    const resolve = async () => {
      throw new Error('ENOTFOUND');
    };

    await expect(
      checkTargetUrl('https://later.example/', { denyPrivate: true, resolve }),
    ).resolves.toBeUndefined();
  });
});
