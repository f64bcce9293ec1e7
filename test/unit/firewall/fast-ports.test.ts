/** Publishing without a full listing: what each backend looks at and sends, and when it hands over to the listing path. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Exec } from '../../../src/firewall/backend';
import { IptablesBackend } from '../../../src/firewall/iptables';
import { bucketOf } from '../../../src/firewall/iptables-rules';
import { NftablesBackend } from '../../../src/firewall/nftables';
import { portRules } from '../../../src/firewall/rules';

const LISTINGS = path.resolve(__dirname, '../../../../fixtures/firewall/listings');
const EP = { id: 'e1', networkId: 'n1', bridge: 'br1', ipv4: '172.18.0.2', ports: [{ protocol: 'tcp' as const, containerPort: 80, hostIp: '', hostPort: 8080 }] };
const nftListing = JSON.parse(fs.readFileSync(path.join(LISTINGS, 'two-networks.nft.json'), 'utf8')) as { nftables: Record<string, { name?: string }>[] };

/** The JSON `nft -j list set|map inet tsnet <name>` prints, cut from the captured table listing. */
function nftOne(name: string): string {
  return JSON.stringify({ nftables: nftListing.nftables.filter((o) => 'metainfo' in o || (o.set ?? o.map)?.name === name) });
}

/** An exec recording calls, answering from `answer` (throw to fail the call). */
function recorder(answer: (file: string, args: readonly string[], input?: string) => string) {
  const calls: string[] = [];
  const inputs: string[] = [];
  const exec: Exec = async (file, args, opts) => {
    calls.push([file, ...args].join(' '));
    if (opts?.input !== undefined) inputs.push(opts.input);
    return { stdout: answer(file, args, opts?.input) };
  };
  return { exec, calls, inputs };
}

describe('fast ports: nftables', () => {
  it('looks only at the bridges set, then adds every element with its claim in one batch', async () => {
    const r = recorder((file, args) => (args[0] === '-j' ? nftOne('bridges') : ''));
    const b = new NftablesBackend(r.exec);
    const view = await b.fastPorts.viewPorts('br1', portRules(EP));
    assert.deepEqual([view.bridge, view.complete, view.ports], ['up', false, []]);
    assert.equal((await b.fastPorts.viewPorts('br9', portRules(EP))).bridge, 'down');
    await b.fastPorts.publish('endpoint:e1', portRules(EP), view);
    assert.deepEqual(r.calls.slice(2), ['nft -f -']);
    assert.equal(r.inputs[0], [
      '# endpoint:e1 publish',
      'add element inet tsnet published4 { 172.18.0.2 . tcp . 80 }',
      'add element inet tsnet dnat4-any { tcp . 8080 : 172.18.0.2 . 80 }',
      'add element inet tsnet claims4 { tcp . 8080 : 1 }',
      '',
    ].join('\n'));
  });

  it('a missing table means no network is set up', async () => {
    const b = new NftablesBackend(async () => { throw new Error('Error: No such file or directory'); });
    assert.equal((await b.fastPorts.viewPorts('br1', portRules(EP))).bridge, 'down');
  });

  it('unpublishes by adding then deleting each element, listing nothing for bindings on every address', async () => {
    const r = recorder(() => '');
    await new NftablesBackend(r.exec).fastPorts.unpublish('endpoint:e1', portRules(EP));
    assert.deepEqual(r.calls, ['nft -f -']);
    const lines = r.inputs[0].split('\n').slice(1, -1);
    assert.deepEqual(lines.map((l) => l.split(' ').slice(0, 5).join(' ')), [
      'add element inet tsnet published4', 'add element inet tsnet dnat4-any', 'add element inet tsnet claims4',
      'delete element inet tsnet published4', 'delete element inet tsnet dnat4-any', 'delete element inet tsnet claims4',
    ]);
    assert.equal(lines[5], 'delete element inet tsnet claims4 { tcp . 8080 }');
  });

  it('keeps a single-address claim while another address still holds the port', async () => {
    const ep = { ...EP, ports: [{ protocol: 'udp' as const, containerPort: 53, hostIp: '127.0.0.2', hostPort: 5353 }] };
    const r = recorder((file, args) => (args[0] === '-j' ? nftOne('dnat4') : ''));
    await new NftablesBackend(r.exec).fastPorts.unpublish('endpoint:e1', portRules(ep));
    assert.deepEqual(r.calls, ['nft -j list map inet tsnet dnat4', 'nft -f -']);
    assert.ok(!r.inputs[0].includes('claims4'), '127.0.0.1:5353 still claims udp 5353');
    assert.match(r.inputs[0], /delete element inet tsnet dnat4 \{ 127\.0\.0\.2 \. udp \. 5353 \}/);
    // The last address on the port releases the claim.
    const alone = recorder((file, args) => (args[0] === '-j' ? nftOne('dnat4') : ''));
    const last = { ...EP, ports: [{ protocol: 'udp' as const, containerPort: 53, hostIp: '127.0.0.1', hostPort: 5353 }] };
    await new NftablesBackend(alone.exec).fastPorts.unpublish('endpoint:e1', portRules(last));
    assert.match(alone.inputs[0], /delete element inet tsnet claims4 \{ udp \. 5353 \}/);
  });
});

describe('fast ports: iptables', () => {
  const bucket = '-N TSNET-DNAT-tcp-126\n-A TSNET-DNAT-tcp-126 -p tcp -m tcp --dport 8081 -j DNAT --to-destination 172.18.0.9:80\n';
  const noChain = () => { throw new Error("iptables -w -t: iptables v1.8.9 (nf_tables): chain `TSNET-DNAT-tcp-126' in table `nat' is incompatible, use 'nft' tool."); };

  it('views a port through its bucket alone, the filter twin derived from it', async () => {
    const r = recorder((file) => (file === 'iptables' ? bucket : ''));
    const b = new IptablesBackend(r.exec);
    const view = await b.fastPorts.viewPorts('br1', portRules(EP));
    assert.deepEqual(r.calls, ['iptables -w -t nat -S TSNET-DNAT-tcp-126']);
    assert.deepEqual([view.bridge, view.complete], ['checked', true]);
    assert.deepEqual(view.ports.map((p) => `${p.hostPort}->${p.containerIp}`), ['8081->172.18.0.9']);
    await b.fastPorts.publish('endpoint:e1', portRules(EP), view);
    assert.equal(r.inputs[0], [
      '# endpoint:e1 publish', '*filter',
      '-C TSNET-FORWARD -o br1 -j TSNET-676b8bb84ce72',
      '-A TSNET-PUBLISHED-tcp-126 -d 172.18.0.2/32 -p tcp -m tcp --dport 80 -m conntrack --ctstate DNAT --ctorigdstport 8080 -j ACCEPT',
      'COMMIT', '*nat',
      '-A TSNET-DNAT-tcp-126 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.18.0.2:80',
      'COMMIT', '',
    ].join('\n'));
  });

  it('creates a missing bucket with -N (never a flushing declaration)', async () => {
    const r = recorder((file) => (file === 'iptables' ? noChain() : ''));
    const b = new IptablesBackend(r.exec);
    const view = await b.fastPorts.viewPorts('br1', portRules(EP));
    assert.deepEqual(view.ports, []);
    await b.fastPorts.publish('endpoint:e1', portRules(EP), view);
    assert.match(r.inputs[0], /\*filter\n-C TSNET-FORWARD -o br1 -j TSNET-\w+\n-N TSNET-PUBLISHED-tcp-126\n/);
    assert.match(r.inputs[0], /\*nat\n-N TSNET-DNAT-tcp-126\n-A TSNET-DNAT -p tcp -m tcp --dport 8064:8127 -j TSNET-DNAT-tcp-126\n/);
    assert.ok(!r.inputs[0].includes(' - [0:0]'));
  });

  it('a listing that fails for another reason is an error, not an empty bucket', async () => {
    const b = new IptablesBackend(async () => { throw new Error('iptables: Another app is currently holding the xtables lock'); });
    await assert.rejects(b.fastPorts.viewPorts('br1', portRules(EP)), /xtables lock/);
    await assert.rejects(b.fastPorts.unpublish('endpoint:e1', portRules(EP)), /xtables lock/);
  });

  it('rolls back the IPv4 batch when the IPv6 one is refused, and IPv6\'s filter table when its nat table was', async () => {
    const dual = { ...EP, ipv6: 'fd00:1::2' };
    let refused = 3;
    const r = recorder((file) => {
      if (file === 'ip6tables-restore') throw new Error(`ip6tables-restore: line ${refused} failed`);
      return file.endsWith('tables') ? noChain() : '';
    });
    const b = new IptablesBackend(r.exec);
    const view = await b.fastPorts.viewPorts('br1', portRules(dual));
    await assert.rejects(b.fastPorts.publish('endpoint:e1', portRules(dual), view), /line 3 failed/);
    assert.deepEqual(r.calls.slice(2), ['iptables-restore --noflush -w', 'ip6tables-restore --noflush -w', 'iptables-restore --noflush -w']);
    assert.match(r.inputs[2], /^# endpoint:e1 rollback\n\*filter\n-D TSNET-PUBLISHED-tcp-126 [\s\S]*-X TSNET-PUBLISHED-tcp-126/);
    // Line 9 of the IPv6 batch is in its nat table: its filter table had gone in, and is undone too.
    refused = 9;
    r.calls.length = r.inputs.length = 0;
    await assert.rejects(b.fastPorts.publish('endpoint:e1', portRules(dual), view), /line 9 failed/);
    assert.deepEqual(r.calls, ['iptables-restore --noflush -w', 'ip6tables-restore --noflush -w', 'ip6tables-restore --noflush -w', 'iptables-restore --noflush -w']);
    assert.match(r.inputs[1].split('\n')[8], /^-N TSNET-DNAT-tcp-126$/);
    assert.ok(!r.inputs[2].includes('*nat'));
  });

  it('unpublishes the port\'s rules, the bucket too when it was the last', async () => {
    const mine = '-N TSNET-DNAT-tcp-126\n-A TSNET-DNAT-tcp-126 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.18.0.2:80\n';
    const r = recorder((file) => (file === 'iptables' ? mine : ''));
    await new IptablesBackend(r.exec).fastPorts.unpublish('endpoint:e1', portRules(EP));
    assert.deepEqual(r.calls, ['iptables -w -t nat -S TSNET-DNAT-tcp-126', 'iptables-restore --noflush -w']);
    assert.match(r.inputs[0], /-D TSNET-PUBLISHED -p tcp -m conntrack --ctorigdstport 8064:8127 -j TSNET-PUBLISHED-tcp-126\n-F TSNET-PUBLISHED-tcp-126\n-X TSNET-PUBLISHED-tcp-126\n/);
    // Nothing published: nothing sent. iptables-nft 1.8.9's unsure answer is checked against TSNET-DNAT's jumps.
    const none = recorder((file, args) => (args.includes('TSNET-DNAT') ? '-N TSNET-DNAT\n' : file === 'iptables' ? noChain() : ''));
    await new IptablesBackend(none.exec).fastPorts.unpublish('endpoint:e1', portRules(EP));
    assert.deepEqual(none.calls, ['iptables -w -t nat -S TSNET-DNAT-tcp-126', 'iptables -w -t nat -S TSNET-DNAT']);
    const sure = recorder((file) => { if (file === 'iptables') throw new Error('iptables: No chain/target/match by that name.'); return ''; });
    await new IptablesBackend(sure.exec).fastPorts.unpublish('endpoint:e1', portRules(EP));
    assert.deepEqual(sure.calls, ['iptables -w -t nat -S TSNET-DNAT-tcp-126']);
    // Jumped to, yet not listable (rules iptables-nft cannot parse): the listing path must decide.
    const odd = recorder((file, args) => (args.includes('TSNET-DNAT') ? `-N TSNET-DNAT\n-A TSNET-DNAT ${bucketOf('tcp', 8080).natJump}\n` : file === 'iptables' ? noChain() : ''));
    await assert.rejects(new IptablesBackend(odd.exec).fastPorts.unpublish('endpoint:e1', portRules(EP)), /incompatible/);
  });
});
