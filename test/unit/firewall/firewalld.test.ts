/** Reading firewalld's D-Bus replies (as dbus-send prints them, captured from firewalld 1.3 in fixtures/firewall/firewalld). */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { activeZoneInterfaces, parseDbusReply } from '../../../src/firewall/firewalld';

const FIXTURES = path.join(__dirname, '..', '..', '..', '..', 'fixtures', 'firewall', 'firewalld');
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name), 'utf8');

describe('firewalld replies', () => {
  it('reads getActiveZones as zone → interfaces, sources aside', () => {
    assert.deepEqual([...activeZoneInterfaces(fixture('getActiveZones.txt'))], [['public', ['lo']], ['trusted', ['brcap0']]]);
  });

  it('reads a string and an array of strings', () => {
    assert.deepEqual(parseDbusReply(fixture('getZoneOfInterface.txt')), ['trusted']);
    assert.deepEqual(parseDbusReply(fixture('getZones.txt')), [['block', 'dmz', 'drop', 'external', 'home', 'internal', 'public', 'trusted', 'work']]);
  });

  it('reads quoted strings with escapes and spaces, numbers, booleans and variants', () => {
    assert.deepEqual(parseDbusReply('method return time=1 sender=:1.1\n   string "a \\"b\\" [c]"\n   int32 -4\n   boolean true\n   variant       uint32 7\n'), ['a "b" [c]', -4, true, 7]);
  });

  it('refuses what it cannot read, naming it', () => {
    assert.throws(() => parseDbusReply('   array [\n   string "x"\n'), /unterminated array/);
    assert.throws(() => parseDbusReply('   struct {\n'), /unexpected "struct"/);
  });
});
