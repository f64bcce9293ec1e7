/** Docker's PortBinding wire form to tsnet's port requests and back. */
import { strict as assert } from 'node:assert';
import { toDockerBindings, toPortRequests } from '../../../plugins/docker/ports';
import type { DockerPortBinding } from '../../../plugins/docker/api';
import type { PortRequest } from '../../../src/model';

describe('docker plugin: port bindings', () => {
  const cases: [string, DockerPortBinding, PortRequest][] = [
    ['-p 8080:80', { Proto: 6, IP: '', Port: 80, HostIP: '', HostPort: 8080, HostPortEnd: 8080 }, { protocol: 'tcp', containerPort: 80, hostIp: '', hostPort: 8080, hostPortEnd: 8080 }],
    ['-p 127.0.0.1:53:53/udp', { Proto: 17, Port: 53, HostIP: '127.0.0.1', HostPort: 53, HostPortEnd: 53 }, { protocol: 'udp', containerPort: 53, hostIp: '127.0.0.1', hostPort: 53, hostPortEnd: 53 }],
    ['-p 9000-9010:80', { Proto: 6, Port: 80, HostPort: 9000, HostPortEnd: 9010 }, { protocol: 'tcp', containerPort: 80, hostIp: '', hostPort: 9000, hostPortEnd: 9010 }],
    ['-P (random)', { Proto: 132, Port: 3868 }, { protocol: 'sctp', containerPort: 3868, hostIp: '', hostPort: 0, hostPortEnd: 0 }],
    ['HostPortEnd 0 means one port', { Proto: 6, Port: 80, HostPort: 8080, HostPortEnd: 0 }, { protocol: 'tcp', containerPort: 80, hostIp: '', hostPort: 8080, hostPortEnd: 8080 }],
    ['[::1]:8080:80', { Proto: 6, Port: 80, HostIP: '::1', HostPort: 8080 }, { protocol: 'tcp', containerPort: 80, hostIp: '::1', hostPort: 8080, hostPortEnd: 8080 }],
  ];
  for (const [name, wire, request] of cases) {
    it(`reads ${name}`, () => assert.deepEqual(toPortRequests([wire]), [request]));
  }

  it('refuses unknown protocol numbers and ranges that end before they start', () => {
    assert.throws(() => toPortRequests([{ Proto: 1, Port: 80 }]), /unknown IP protocol number 1/);
    assert.throws(() => toPortRequests([{ Proto: 6, Port: 80, HostPort: 9000, HostPortEnd: 8000 }]), /ends before it starts/);
  });

  it('writes published ports back with the container address', () => {
    assert.deepEqual(toDockerBindings([{ protocol: 'udp', containerPort: 53, hostIp: '0.0.0.0', hostPort: 5300 }], '172.30.0.2'), [
      { Proto: 17, IP: '172.30.0.2', Port: 53, HostIP: '0.0.0.0', HostPort: 5300, HostPortEnd: 5300 },
    ]);
  });
});
