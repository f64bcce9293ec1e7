import { strict as assert } from 'node:assert';
import { InvalidArgumentError } from '../../src/errors';
import { validateIfname, validateName } from '../../src/names';

describe('names', () => {
  const good: ['network' | 'sandbox', string][] = [['network', 'mynet'], ['network', 'my_net.v2-a'], ['sandbox', 'a'], ['sandbox', 'x'.repeat(63)], ['network', 'n'.repeat(64)]];
  for (const [what, name] of good) it(`accepts ${what} name ${name.slice(0, 20)}`, () => assert.equal(validateName(what, name), name));
  const bad: ['network' | 'sandbox', string, RegExp][] = [
    ['network', '', /a name is required/], ['sandbox', 'x'.repeat(64), /longer than 63/], ['network', 'n'.repeat(65), /longer than 64/],
    ['network', 'a/b', /only/], ['sandbox', 'a b', /only/], ['sandbox', '-lead', /only/], ['network', '.hidden', /only/], ['sandbox', 'é', /only/], ['network', 'a\0b', /only/],
  ];
  for (const [what, name, re] of bad) it(`refuses ${what} name ${JSON.stringify(name.slice(0, 20))}`, () => assert.throws(() => validateName(what, name), (e: Error) => e instanceof InvalidArgumentError && re.test(e.message)));
  it('checks interface names against IFNAMSIZ', () => {
    assert.equal(validateIfname('br-0123456789a'), 'br-0123456789a');
    assert.throws(() => validateIfname('br-0123456789abc'), /1 to 15/);
    assert.throws(() => validateIfname('a/b'), /only/);
    assert.throws(() => validateIfname(''), /1 to 15/);
  });
});
