import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openSpec } from '../store/spec';
import { describeIpamConcurrency } from './concurrency';

describe('ipam on sqlite', () => {
  const dirs: string[] = [];
  after(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  describeIpamConcurrency('sqlite', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-ipam-'));
    dirs.push(dir);
    return openSpec({ backend: 'sqlite', stateDir: dir });
  });
});
