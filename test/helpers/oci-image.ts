/**
 * A tiny container image built here, with no registry: busybox-static's /bin/busybox with its applet
 * links and a page for httpd, as one uncompressed layer. The layer tar feeds `podman import`; the
 * same layer in an OCI image layout archive feeds `ctr image import`.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Where Debian's busybox-static puts the static binary. */
const BUSYBOX = '/bin/busybox';
/** Applets the tests run, as links in /bin. */
const APPLETS = ['sh', 'ping', 'nc', 'wget', 'httpd', 'nslookup', 'ip', 'sleep', 'cat', 'true', 'hostname', 'echo', 'ls', 'timeout'];
/** What httpd serves from /www. */
export const PAGE = 'tsnet-test-page\n';

/** The built image: its layer tar and its OCI archive. */
export interface BusyboxImage {
  /** The root filesystem as one tar (for `podman import`). */
  layerTar: string;
  /** An OCI image layout archive (for `ctr image import`, `podman load`). */
  ociArchive: string;
  /** The name the OCI archive carries (io.containerd.image.name). */
  name: string;
}

/** sha256 digest and size of a file or buffer, as OCI descriptors want them. */
function describe(data: Buffer): { digest: string; size: number; hex: string } {
  const hex = createHash('sha256').update(data).digest('hex');
  return { digest: `sha256:${hex}`, size: data.length, hex };
}

/** Builds the image under dir (created if missing); name is the reference the OCI archive carries. */
export function buildBusyboxImage(dir: string, name = 'docker.io/tsnet/busybox:test'): BusyboxImage {
  if (!fs.existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} is missing: apt-get install busybox-static`);
  const rootfs = path.join(dir, 'rootfs');
  for (const d of ['bin', 'etc', 'tmp', 'www', 'proc', 'sys', 'dev']) fs.mkdirSync(path.join(rootfs, d), { recursive: true });
  fs.copyFileSync(BUSYBOX, path.join(rootfs, 'bin', 'busybox'));
  fs.chmodSync(path.join(rootfs, 'bin', 'busybox'), 0o755);
  for (const a of APPLETS) fs.symlinkSync('busybox', path.join(rootfs, 'bin', a));
  fs.writeFileSync(path.join(rootfs, 'www', 'index.html'), PAGE);
  fs.chmodSync(path.join(rootfs, 'tmp'), 0o1777);
  const layerTar = path.join(dir, 'layer.tar');
  execFileSync('tar', ['--numeric-owner', '--owner=0', '--group=0', '--sort=name', '--mtime=@0', '-C', rootfs, '-cf', layerTar, '.']);

  const layout = path.join(dir, 'oci');
  const blobs = path.join(layout, 'blobs', 'sha256');
  fs.mkdirSync(blobs, { recursive: true });
  const put = (data: Buffer) => {
    const d = describe(data);
    fs.writeFileSync(path.join(blobs, d.hex), data);
    return { digest: d.digest, size: d.size };
  };
  const layer = put(fs.readFileSync(layerTar));
  const config = put(Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux',
    config: { Env: ['PATH=/bin'], Cmd: ['sh'], WorkingDir: '/' },
    rootfs: { type: 'layers', diff_ids: [layer.digest] },
  })));
  const manifest = put(Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
  })));
  const tag = name.slice(name.lastIndexOf(':') + 1);
  fs.writeFileSync(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  fs.writeFileSync(path.join(layout, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, platform: { architecture: 'amd64', os: 'linux' }, annotations: { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': tag } }],
  }));
  const ociArchive = path.join(dir, 'busybox-oci.tar');
  execFileSync('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', layout, '-cf', ociArchive, 'oci-layout', 'index.json', 'blobs']);
  return { layerTar, ociArchive, name };
}
