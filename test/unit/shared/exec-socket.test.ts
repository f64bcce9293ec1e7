/** The exec sockets' limiter (CNI: MAX_RUNNING, netavark: 1): at most `limit` commands at once, the rest in arrival order, a failure frees its slot. */
import { strict as assert } from 'node:assert';
import { limiter } from '../../../plugins/shared/exec-socket';

const tick = () => new Promise((r) => setImmediate(r));

describe('exec socket limiter', () => {
  it('runs at most limit tasks at once and starts the others in arrival order', async () => {
    const inTurn = limiter(2);
    const started: (number | string)[] = [];
    const release: (() => void)[] = [];
    let peak = 0, active = 0;
    const all = Array.from({ length: 6 }, (_, i) => inTurn(async () => {
      started.push(i);
      peak = Math.max(peak, ++active);
      await new Promise<void>((r) => release.push(r));
      active--;
      return i;
    }));
    await tick();
    assert.deepEqual(started.slice(), [0, 1]);
    release.shift()!();
    await tick();
    await tick();
    assert.deepEqual(started.slice(), [0, 1, 2]);
    const late = inTurn(async () => {
      started.push('late');
      return 'late';
    });
    while (release.length) {
      release.shift()!();
      await tick();
      await tick();
    }
    assert.deepEqual(await Promise.all(all), [0, 1, 2, 3, 4, 5]);
    assert.equal(await late, 'late');
    assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 'late'], 'the newcomer did not overtake the ones waiting');
    assert.equal(peak, 2);
  });

  it('frees the slot of a task that fails', async () => {
    const inTurn = limiter(1);
    await assert.rejects(inTurn(async () => { throw new Error('boom'); }), /boom/);
    assert.equal(await inTurn(async () => 'next'), 'next');
  });
});
