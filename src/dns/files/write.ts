/**
 * Writing a sandbox's hostname, hosts and resolv.conf. The files are bind-mounted into containers,
 * and a bind mount pins the inode: replacing the file by rename (the usual atomic write) would leave
 * the container reading the old one. So an existing file is rewritten in place, as Docker does; only a
 * new file is made by write-then-rename, so no reader ever sees it half-written.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Writes content to file, in place when it exists (keeps bind mounts working), atomically when it is new. */
export function writeSandboxFile(file: string, content: string, mode = 0o644): void {
  const data = Buffer.from(content);
  let fd: number;
  try {
    fd = fs.openSync(file, 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    writeNew(file, data, mode);
    return;
  }
  try {
    // Write first, cut after: a reader sees old or new bytes, never an empty file.
    for (let off = 0; off < data.length; ) off += fs.writeSync(fd, data, off, data.length - off, off);
    fs.ftruncateSync(fd, data.length);
  } finally {
    fs.closeSync(fd);
  }
}

/** Creates file with content by writing a temporary file beside it and renaming it over. */
function writeNew(file: string, data: Buffer, mode: number): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, data, { mode });
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}
