import { strict as assert } from 'node:assert';
import { compareNames } from '../../src/names';
import { prng } from '../helpers/prng';

describe('names: compareNames', () => {
  it('orders names as localeCompare does (root locale), on random names of the name alphabet', () => {
    const rand = prng(12);
    const alphabet = 'abcXYZ019_.-';
    const names = Array.from({ length: 3000 }, () => alphabet[Math.floor(rand() * 9)] + Array.from({ length: Math.floor(rand() * 5) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join(''));
    for (let i = 0; i + 1 < names.length; i++) assert.equal(Math.sign(compareNames(names[i], names[i + 1])), Math.sign(names[i].localeCompare(names[i + 1])), `${names[i]} vs ${names[i + 1]}`);
    assert.deepEqual(['none', 'bridge', 'Host', 'host', 'b-2', 'b_2', 'b.2', 'b2'].sort(compareNames), ['b_2', 'b-2', 'b.2', 'b2', 'bridge', 'host', 'Host', 'none']);
  });
});
