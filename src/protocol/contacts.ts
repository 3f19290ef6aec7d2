/**
 * Contacts: the shareable link, requests both ways, and the 1:1 group each
 * accepted contact shares with us (derived from the two account keys).
 *
 * Outgoing: `add(link)` records the request on disk, then tries to reach the
 * responder through the link's hints, peers already on its rendezvous topic
 * and the DHT, and runs the handshake. If nobody answers it retries with
 * backoff (`outgoing-requests.ts`) until the request is delivered or
 * cancelled; a restart resumes it. Once delivered we open the contact group;
 * when the contact's device appears there, it accepted.
 *
 * Incoming: a request is kept until `accept()` or `decline()`, and delivered
 * again after a restart while pending. A second request from the same account
 * updates the first, and two people who asked each other are contacts.
 */
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { AbortError, throwIfAborted, type AbortOptions } from './abort.ts'
import { decodeContactLink, encodeContactLink, RENDEZVOUS_SEED_SIZE } from './contact-link.ts'
import { randomBytes } from './crypto.ts'
import { keyToId } from './encoding.ts'
import { BertybotError, InvalidOptionError } from './errors.ts'
import type { DeliveringEmitter } from './events.ts'
import type { Contact, Group } from './handles.ts'
import type { RequestOutcome } from './contact-requester.ts'
import { answerContactRequest, CONTACT_REQUEST_PROTOCOL, MAX_REQUEST_MESSAGE_LENGTH, type IncomingRequest } from './handshake.ts'
import type { IdentityKeys } from './keystore.ts'
import type { Logger } from './logger.ts'
import type { NodeServices } from './node.ts'
import { listeningPoints } from './rendezvous.ts'
import { OutgoingRequests } from './outgoing-requests.ts'
import { RendezvousListener } from './rendezvous-listener.ts'
import type { ContactRecord } from './state-records.ts'
import type { StateStore } from './state-store.ts'

const ANSWER_TIMEOUT_MS = 30_000

/** A contact request could not be made with this link; `reason` says why. */
export class ContactRequestRefusedError extends BertybotError {
  readonly reason: 'link-reset' | 'own-link'

  constructor (reason: 'link-reset' | 'own-link', message: string) {
    super(`ERR_CONTACT_REQUEST_${reason.toUpperCase().replaceAll('-', '_')}`, message)
    this.reason = reason
  }
}

export interface ContactsDeps {
  identity: IdentityKeys
  state: StateStore
  libp2p: Libp2p<NodeServices>
  logger: Logger
  now: () => number
  displayName: string | undefined
  events: DeliveringEmitter
  multiaddrs: () => string[]
  /** Opens (or returns) the contact group shared with `contact`. */
  openContactGroup: (contact: { pk: Uint8Array, displayName: string, hints: string[] }, options?: AbortOptions) => Promise<Group>
  contactGroup: (contactPk: Uint8Array) => Group | undefined
  /** Remembers a peer as one serving a group, so it is dialed again after a restart. */
  addGroupPeer: (group: Group, peerId: string) => Promise<void>
}

export class Contacts {
  readonly #deps: ContactsDeps
  readonly #records = new Map<string, ContactRecord>()
  readonly #outgoing: OutgoingRequests
  readonly #stop = new AbortController()
  readonly #ownAccount: string
  #seed: Uint8Array
  #listener: RendezvousListener | undefined

  private constructor (deps: ContactsDeps, seed: Uint8Array) {
    this.#deps = deps
    this.#seed = seed
    this.#ownAccount = keyToId(deps.identity.account.publicKey)
    this.#outgoing = new OutgoingRequests({
      ...deps,
      record: (account) => this.#records.get(account),
      settle: async (account, record, result) => { await this.#settleAttempt(account, record, result) }
    })
  }

  /** Reads the seed (making one the first time) and the contacts, before any group opens. */
  static async load (deps: ContactsDeps): Promise<Contacts> {
    let seed = await deps.state.contactSeed()
    if (seed === undefined) {
      seed = randomBytes(RENDEZVOUS_SEED_SIZE)
      await deps.state.putContactSeed(seed)
    }
    const contacts = new Contacts(deps, seed)
    for (const { accountId, record } of await deps.state.contacts()) contacts.#records.set(accountId, record)
    return contacts
  }

  /** Answers requests, listens at the rendezvous points, resumes pending work. */
  async start (): Promise<void> {
    const { libp2p, identity, now, logger } = this.#deps
    await libp2p.handle(CONTACT_REQUEST_PROTOCOL, (stream, connection) => { void this.#answer(stream, connection) }, { maxInboundStreams: 16 })
    this.#listener = new RendezvousListener({
      libp2p,
      logger,
      now,
      points: (atMs) => listeningPoints(identity.account.publicKey, this.#seed, atMs)
    })
    await this.#listener.start()
    for (const [account, record] of this.#records) {
      if (record.state === 'outgoing' && !record.delivered) this.#outgoing.retry(account)
      if (record.state === 'incoming') this.#deliverRequest(account)
      if (record.state === 'accepted' && !record.announced) this.#deliverAccepted(account)
    }
  }

  async stop (): Promise<void> {
    this.#stop.abort()
    this.#outgoing.stop()
    await this.#listener?.stop()
    await this.#deps.libp2p.unhandle(CONTACT_REQUEST_PROTOCOL).catch(() => {})
  }

  /** Our contact link, with the addresses we listen on now. */
  link (): string {
    return encodeContactLink(this.#deps.identity.account, this.#seed, this.#deps.displayName ?? '', this.#deps.multiaddrs())
  }

  /** A new seed: links shared before stop working (their owners' requests are refused). */
  async resetLink (): Promise<string> {
    this.#seed = randomBytes(RENDEZVOUS_SEED_SIZE)
    await this.#deps.state.putContactSeed(this.#seed)
    await this.#listener?.refresh()
    return this.link()
  }

  list (): Contact[] {
    return [...this.#records.keys()].map((account) => this.get(account) as Contact)
  }

  get (account: string): Contact | undefined {
    const record = this.#records.get(account)
    if (record === undefined) return undefined
    return {
      account,
      displayName: record.displayName,
      state: record.state,
      requestDelivered: record.delivered,
      group: this.#deps.contactGroup(record.pk)
    }
  }

  /**
   * Asks the owner of `link` to become a contact. Resolves once the request is
   * on disk and tried once: `requestDelivered` says whether it got through; if
   * not, it is retried until it does. Throws `InvalidLinkError` for a bad link,
   * `ContactRequestRefusedError` if its owner has reset it; `AbortError` if
   * `signal` aborts before it got through (the request is then given up).
   */
  async add (link: string, options: { message?: string } & AbortOptions = {}): Promise<Contact> {
    const { signal } = options
    throwIfAborted(signal, 'adding the contact')
    const parsed = decodeContactLink(link)
    const account = keyToId(parsed.accountKey)
    if (account === this.#ownAccount) throw new ContactRequestRefusedError('own-link', 'this is your own contact link')
    if (options.message !== undefined && options.message.length > MAX_REQUEST_MESSAGE_LENGTH) {
      throw new InvalidOptionError(`a contact request message is at most ${MAX_REQUEST_MESSAGE_LENGTH} characters`)
    }
    const existing = this.#records.get(account)
    if (existing?.state === 'accepted') return this.get(account) as Contact
    if (existing?.state === 'incoming') {
      await this.accept(account, { signal })
      return this.get(account) as Contact
    }
    await this.#save(account, {
      pk: parsed.accountKey,
      displayName: parsed.displayName,
      state: 'outgoing',
      message: options.message,
      hints: parsed.hints,
      seed: parsed.seed,
      requestedAt: this.#deps.now(),
      delivered: false,
      announced: false
    })
    this.#outgoing.giveUp(account)
    const outcome = await this.#outgoing.attempt(account, signal)
    if (outcome === 'link-reset') throw new ContactRequestRefusedError('link-reset', `${parsed.displayName === '' ? 'this contact' : parsed.displayName} has reset this link: ask for a new one`)
    if (signal?.aborted === true && outcome === 'unreachable') {
      await this.cancel(account)
      throw new AbortError('adding the contact', signal.reason)
    }
    if (outcome === 'unreachable') this.#outgoing.retry(account)
    return this.get(account) as Contact
  }

  /** Stops trying to deliver an outgoing request, and forgets it. */
  async cancel (account: string): Promise<void> {
    const record = this.#records.get(account)
    if (record?.state !== 'outgoing') return
    this.#outgoing.giveUp(account)
    await this.#save(account, { ...record, state: 'declined' })
  }

  /** Accepts an incoming request: both sides now share the contact group. */
  async accept (account: string, options: AbortOptions = {}): Promise<Group> {
    const record = this.#records.get(account)
    if (record === undefined || (record.state !== 'incoming' && record.state !== 'accepted')) {
      throw new InvalidOptionError(`no contact request from ${account} to accept`)
    }
    if (record.state === 'accepted') return await this.#openGroup(record, options)
    await this.#save(account, { ...record, state: 'accepted' })
    let group: Group
    try {
      group = await this.#openGroup(record, options)
    } catch (err) {
      // Aborted before the contact group opened: the request is pending again.
      if (err instanceof AbortError) await this.#save(account, record)
      throw err
    }
    this.#deliverAccepted(account)
    return group
  }

  async decline (account: string): Promise<void> {
    const record = this.#records.get(account)
    if (record?.state !== 'incoming') throw new InvalidOptionError(`no contact request from ${account} to decline`)
    await this.#save(account, { ...record, state: 'declined' })
  }

  /** Hook from the groups: `account` has a device in `group`. For us, that is the contact accepting. */
  memberSeen (group: Group, account: string): void {
    const record = this.#records.get(account)
    if (record?.state !== 'outgoing' || group.contact !== account) return
    this.#outgoing.giveUp(account)
    void this.#save(account, { ...record, state: 'accepted', delivered: true })
      // This group, not a lookup: it may still be opening, not yet among the peer's groups.
      .then(() => { this.#deliverAccepted(account, group) })
      .catch((err: unknown) => { this.#deps.logger.error({ err }, 'could not record an accepted contact') })
  }

  async #save (account: string, record: ContactRecord): Promise<void> {
    this.#records.set(account, record)
    await this.#deps.state.putContact(account, record)
  }

  async #openGroup (record: ContactRecord, options: AbortOptions = {}): Promise<Group> {
    return await this.#deps.openContactGroup({ pk: record.pk, displayName: record.displayName, hints: record.hints }, options)
  }

  #deliverRequest (account: string): void {
    const record = this.#records.get(account)
    if (record === undefined) return
    this.#deps.events.deliver('contactRequest', {
      account,
      displayName: record.displayName,
      message: record.message,
      receivedAt: new Date(record.requestedAt),
      accept: async (options?: AbortOptions) => await this.accept(account, options),
      decline: async () => { await this.decline(account) },
      // A request stays pending until it is accepted or declined, and comes again after a restart.
      markHandled: async () => {}
    })
  }

  #deliverAccepted (account: string, opened?: Group): void {
    const record = this.#records.get(account)
    const group = opened ?? (record === undefined ? undefined : this.#deps.contactGroup(record.pk))
    if (record === undefined || group === undefined) return
    this.#deps.events.deliver('contactAccepted', {
      contact: this.get(account) as Contact,
      group,
      markHandled: async () => {
        const current = this.#records.get(account)
        if (current !== undefined && !current.announced) await this.#save(account, { ...current, announced: true })
      }
    })
  }

  // Responder side

  async #answer (stream: Stream, connection: Connection): Promise<void> {
    const signal = AbortSignal.any([this.#stop.signal, AbortSignal.timeout(ANSWER_TIMEOUT_MS)])
    let request: IncomingRequest | undefined
    try {
      request = await answerContactRequest(stream, { account: this.#deps.identity.account, seed: this.#seed, signal })
      await stream.close({ signal }).catch(() => {})
    } catch (err) {
      stream.abort(err as Error)
      this.#deps.logger.debug({ peer: connection.remotePeer.toString(), err: (err as Error).message }, 'contact request handshake failed')
      return
    }
    if (request === undefined) {
      this.#deps.logger.info({ peer: connection.remotePeer.toString() }, 'refused a contact request made with a link that was reset')
      return
    }
    await this.#received(request, connection.remotePeer).catch((err: unknown) => {
      this.#deps.logger.error({ err }, 'could not record a contact request')
    })
  }

  async #received (request: IncomingRequest, from: PeerId): Promise<void> {
    const account = keyToId(request.accountKey)
    if (account === this.#ownAccount) return
    const existing = this.#records.get(account)
    const record: ContactRecord = {
      pk: request.accountKey,
      displayName: request.displayName,
      state: 'incoming',
      message: request.message,
      hints: request.hints,
      requestedAt: this.#deps.now(),
      delivered: false,
      announced: false
    }
    switch (existing?.state) {
      case 'accepted': {
        // They lost track of us: the group is there already; keep their new addresses.
        await this.#save(account, { ...existing, hints: request.hints })
        await this.#deps.addGroupPeer(await this.#openGroup(existing), from.toString())
        return
      }
      case 'outgoing': {
        // We asked each other: that is an acceptance on both sides.
        this.#outgoing.giveUp(account)
        await this.#save(account, { ...existing, hints: request.hints, state: 'accepted', delivered: true })
        await this.#deps.addGroupPeer(await this.#openGroup(existing), from.toString())
        this.#deliverAccepted(account)
        return
      }
      case 'incoming':
        // The same request again: one pending request, updated, not a second one.
        await this.#save(account, { ...record, requestedAt: existing.requestedAt })
        return
      default:
        await this.#save(account, record)
        this.#deliverRequest(account)
    }
  }

  // Requester side

  /** Records what came of a try at delivering our request. */
  async #settleAttempt (account: string, record: ContactRecord, result: RequestOutcome): Promise<void> {
    if (result.outcome === 'link-reset') {
      await this.#save(account, { ...record, state: 'refused' })
      this.#deps.logger.warn({ account }, 'contact request refused: the link was reset by its owner')
    } else if (result.outcome === 'delivered') {
      await this.#save(account, { ...record, delivered: true })
      await this.#deps.addGroupPeer(await this.#openGroup(record), result.peer)
    }
  }
}
