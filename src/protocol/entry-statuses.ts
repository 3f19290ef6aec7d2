/**
 * What became of each entry of a group's logs, in the state database: its
 * status (`EntryStatus`, with its author for a message only its author may
 * edit or delete), whether it is closed (it and everything behind it have a
 * status), and which entries wait for a sender's chain key. The message
 * pipeline writes these as it settles entries; a restart reads them back.
 *
 * The two lookups on every message's path (an entry's status, whether it is
 * closed) read synchronously: most find nothing (the entry is new), which
 * LevelDB answers from memory in microseconds, where an asynchronous read
 * hands the work to another thread and back, a few times that on a busy
 * machine. The reads stay `async` for their callers.
 */
import { encodeCbor } from './encoding.ts'
import { entryStatusSchema, decodeRecord, type EntryStatus, type LogKind, type StateOp, type Sublevel } from './state-records.ts'

export interface EntryStatusesDeps {
  status: Sublevel
  closed: Sublevel
  waiting: Sublevel
}

export class EntryStatuses {
  readonly #subs: EntryStatusesDeps

  constructor (subs: EntryStatusesDeps) {
    this.#subs = subs
  }

  async entryStatus (groupId: string, log: LogKind, entryHash: string): Promise<EntryStatus | undefined> {
    return (await this.entryRecord(groupId, log, entryHash))?.status
  }

  /** An entry's status, with the account key of its author where it was recorded (`setStatusOp`). */
  async entryRecord (groupId: string, log: LogKind, entryHash: string): Promise<{ status: EntryStatus, author: Uint8Array | undefined } | undefined> {
    const value = this.#subs.status.getSync(`${groupId}/${log}/${entryHash}`)
    if (value === undefined) return undefined
    const record = decodeRecord(value, entryStatusSchema, `status of ${entryHash}`)
    return typeof record === 'string' ? { status: record, author: undefined } : { status: record[0], author: record[1] }
  }

  /** `author`: the account key of who wrote the entry, kept with its status (a message that may be edited or deleted by its author only). */
  setStatusOp (groupId: string, log: LogKind, entryHash: string, status: EntryStatus, author?: Uint8Array): StateOp {
    return { type: 'put', sublevel: this.#subs.status, key: `${groupId}/${log}/${entryHash}`, value: encodeCbor(author === undefined ? status : [status, author]) }
  }

  /** Whether an entry is closed: it and every entry it points to, transitively, have a status. */
  async isClosed (groupId: string, entryHash: string): Promise<boolean> {
    return this.#subs.closed.getSync(`${groupId}/${entryHash}`) !== undefined
  }

  closeOp (groupId: string, entryHash: string): StateOp {
    return { type: 'put', sublevel: this.#subs.closed, key: `${groupId}/${entryHash}`, value: new Uint8Array() }
  }

  /** Entries waiting for `deviceId`'s chain key, oldest first by clock. */
  async waitingFor (groupId: string, deviceId: string): Promise<string[]> {
    const prefix = `${groupId}/${deviceId}/`
    const hashes: string[] = []
    for await (const key of this.#subs.waiting.keys({ gte: prefix, lt: prefix + '\xff' })) hashes.push(key.slice(prefix.length))
    return hashes
  }

  /** Devices some entry of the group waits for. */
  async waitingDevices (groupId: string): Promise<string[]> {
    const prefix = `${groupId}/`
    const devices = new Set<string>()
    for await (const key of this.#subs.waiting.keys({ gte: prefix, lt: prefix + '\xff' })) devices.add(key.slice(prefix.length).split('/')[0] as string)
    return [...devices]
  }

  addWaitingOp (groupId: string, deviceId: string, entryHash: string): StateOp {
    return { type: 'put', sublevel: this.#subs.waiting, key: `${groupId}/${deviceId}/${entryHash}`, value: new Uint8Array() }
  }

  /** Forgets everything kept of a group's entries (a group left). */
  async forget (groupId: string): Promise<void> {
    const range = { gte: `${groupId}/`, lt: `${groupId}/\xff` }
    for (const sub of [this.#subs.status, this.#subs.closed, this.#subs.waiting]) await sub.clear(range)
  }

  delWaitingOp (groupId: string, deviceId: string, entryHash: string): StateOp {
    return { type: 'del', sublevel: this.#subs.waiting, key: `${groupId}/${deviceId}/${entryHash}` }
  }
}
