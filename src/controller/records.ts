/** Records a face keeps beside the model in this host's store (the CNI plugin's container → sandbox map). */
import { InvalidArgumentError } from '../errors';
import type { Store } from '../store/store';

/** Namespaces are path-like tokens, so one face's keys never fall under another's prefix or the model's. */
const NAMESPACE_RE = /^[a-z][a-z0-9-]*\/[a-z][a-z0-9-]*$/;
/** Namespaces the model itself uses: a face may not write there. */
const RESERVED = ['network', 'network-name', 'endpoint', 'sandbox', 'sandbox-name', 'sandbox-ep', 'port', 'ipam'];

/** A face's own records, one JSON value per id, under `<namespace>/<id>`. */
export class FaceRecords<T> {
  private readonly prefix: string;

  constructor(private readonly store: Store, namespace: string) {
    if (!NAMESPACE_RE.test(namespace) || RESERVED.includes(namespace.split('/')[0])) throw new InvalidArgumentError(`invalid record namespace "${namespace}"`);
    this.prefix = `${namespace}/`;
  }

  /** The record of id, or undefined. */
  get(id: string): Promise<T | undefined> {
    return this.store.get<T>(this.prefix + id);
  }

  /** Writes the record of id. */
  async put(id: string, value: T): Promise<void> {
    await this.store.txn(async (t) => t.put(this.prefix + id, value));
  }

  /** Drops the record of id; an absent one counts as dropped. */
  async delete(id: string): Promise<void> {
    await this.store.txn(async (t) => void (await t.delete(this.prefix + id)));
  }

  /** Every record with its id. */
  async list(): Promise<{ id: string; value: T }[]> {
    return (await this.store.list<T>(this.prefix)).map((e) => ({ id: e.key.slice(this.prefix.length), value: e.value }));
  }
}
