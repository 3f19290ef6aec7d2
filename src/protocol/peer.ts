/**
 * `createPeer()`: a Berty-style peer. It holds an account, joins groups, and
 * sends and receives end-to-end encrypted messages over logs that any peer
 * holding them can serve, so messages reach members who were offline.
 *
 * ```ts
 * const peer = await createPeer({ dataDir: './alice' })
 * const group = await peer.createGroup({ name: 'ops' })
 * console.log(group.invitation())        // give this to the others
 * peer.on('message', (m) => console.log(m.sender.displayName, m.text))
 * await group.send({ text: 'hello' })
 * ```
 */
import PQueue from 'p-queue'
import { z } from 'zod'
import { throwIfAborted, type AbortOptions } from './abort.ts'
import { systemClock } from './clock.ts'
import { keyToId } from './encoding.ts'
import { InvalidLinkError, InvalidOptionError, NotRunningError } from './errors.ts'
import { DeliveringEmitter, type DeliveryMode } from './events.ts'
import { Contacts } from './contacts.ts'
import { FileStore } from './file-store.ts'
import type { Contact, Files, Group } from './handles.ts'
import { createEpoch, decodeInvitation, groupId } from './group-keys.ts'
import { withPeerStack } from './peer-stack.ts'
import type { IdentityKeys } from './keystore.ts'
import type { GroupLogDeps } from './group-log.ts'
import type { LogSync } from './log-sync.ts'
import { defaultLogger, namespaced, type Logger } from './logger.ts'
import type { Node } from './node.ts'
import { multiaddrString, parsePeerOptions, type PeerOptions } from './peer-options.ts'
import { PeerGroups } from './peer-groups.ts'
import type { StateStore } from './state-store.ts'

export async function createPeer (options: PeerOptions): Promise<Peer> {
  const config = parsePeerOptions(options)
  const logger = namespaced(options.logger ?? defaultLogger(), 'protocol:peer')
  const clock = options.clock ?? systemClock
  const now = (): number => clock.now()

  const nodeOptions = { dataDir: config.dataDir, listen: config.listen, announce: config.announce, bootstrap: config.bootstrap, relay: config.relay, mdns: config.mdns, dht: config.dht }
  return await withPeerStack(nodeOptions, logger, async ({ identity, state, node, logs, sync }) => {
    if (config.displayName !== undefined) await state.putDisplayName(config.displayName)
    const displayName = config.displayName ?? await state.displayName()
    const files = new FileStore({ state, blocks: node.blocks, network: node.helia.blockstore, maxFileSize: config.maxFileSize, logger: namespaced(logger, 'protocol:files'), now })
    await files.start(options.keepStagedFile ?? (() => false))
    const peer = new Peer({ identity, state, node, logs, sync, logger, now, displayName, delivery: config.delivery, files })
    await peer.start()
    return peer
  })
}

interface PeerDeps {
  identity: IdentityKeys
  state: StateStore
  node: Node
  logs: GroupLogDeps
  sync: LogSync
  logger: Logger
  now: () => number
  displayName: string | undefined
  delivery: DeliveryMode
  files: FileStore
}

export class Peer extends DeliveringEmitter {
  /** This account's id (its public key): what others know you by. */
  readonly accountId: string
  /** This device's id. */
  readonly deviceId: string
  /** The libp2p peer id of this node. */
  readonly peerId: string
  readonly #deps: PeerDeps
  readonly #groups: PeerGroups
  #contacts!: Contacts
  #stopping: Promise<void> | undefined

  constructor (deps: PeerDeps) {
    super(deps.delivery, (err) => { deps.logger.error({ err }, 'an event listener threw; the event will be delivered again after a restart') })
    this.#deps = deps
    this.accountId = keyToId(deps.identity.account.publicKey)
    this.deviceId = keyToId(deps.identity.device.publicKey)
    this.peerId = deps.node.libp2p.peerId.toString()
    this.#groups = new PeerGroups({
      groups: {
        identity: deps.identity,
        state: deps.state,
        logs: deps.logs,
        sync: deps.sync,
        libp2p: deps.node.libp2p,
        logger: namespaced(deps.logger, 'protocol:group'),
        now: deps.now,
        displayName: deps.displayName,
        events: this,
        joinGroup: async (invitation, options) => await this.joinGroup(invitation, options),
        multiaddrs: () => this.multiaddrs,
        onMemberSeen: (group, account) => { this.#contacts?.memberSeen(group, account) },
        files: deps.files
      },
      identity: deps.identity,
      state: deps.state,
      logger: deps.logger,
      now: deps.now,
      opened: (group) => { this.emit('groupOpened', { group }) }
    })
  }

  /** The peer's files: store one to send it (`group.send({ text, files })`, or `group.sendFile()` at once), read one. */
  get files (): Files {
    return this.#deps.files
  }

  /** The name this peer shows to others, if it has one. */
  get displayName (): string | undefined {
    return this.#deps.displayName
  }

  /** Where this peer can be reached now, each with its /p2p/ part. */
  get multiaddrs (): string[] {
    return this.#deps.node.libp2p.getMultiaddrs().map((a) => a.toString())
  }

  /** The libp2p peer ids this node has a connection with now. */
  connectedPeers (): string[] {
    return this.#deps.node.libp2p.getPeers().map((id) => id.toString())
  }

  /** The groups this peer is in. */
  groups (): Group[] {
    return this.#groups.list()
  }

  group (id: string): Group | undefined {
    return this.#groups.get(id)
  }

  /** Creates a multi-member group; share `group.invitation()` for others to join. */
  async createGroup (options: { name: string }): Promise<Group> {
    this.#assertRunning()
    const name = z.string().min(1).max(200).safeParse(options?.name)
    if (!name.success) throw new InvalidOptionError('a group needs a name of 1 to 200 characters')
    // Its creator is its first admin, and its first member.
    const own = this.#deps.identity.account.publicKey
    const { keys, genesis } = createEpoch({ a: [own], m: [own] })
    return await this.#groups.open(groupId(keys), {
      kind: 'multi-member',
      pk: keys.publicKey,
      secret: keys.secret,
      secretSig: keys.secretSig,
      linkKeySig: keys.linkKeySig,
      name: name.data,
      hints: [],
      joinedAt: this.#deps.now(),
      genesis
    }, { creating: true })
  }

  /**
   * Joins a group from its invitation link. Throws `InvalidLinkError` (with a
   * `reason`) when the link is malformed, damaged, tampered with or not an invitation.
   * A newcomer first waits (a few seconds at most) to hear from a member: when
   * `signal` aborts before it announced itself, it rejects with `AbortError`
   * and the peer is not in the group.
   */
  async joinGroup (invitation: string, options: AbortOptions = {}): Promise<Group> {
    this.#assertRunning()
    throwIfAborted(options.signal, 'joining the group')
    if (typeof invitation !== 'string') throw new InvalidLinkError('not-a-link', 'a group invitation is a string')
    const { keys, name, hints, root } = decodeInvitation(invitation)
    for (const hint of hints) {
      const check = multiaddrString.safeParse(hint)
      if (!check.success || !hint.includes('/p2p/')) throw new InvalidLinkError('malformed', `group invitation has a dialing hint that is not a peer multiaddr: ${hint.slice(0, 80)}`)
    }
    // An invitation made after a removal carries a later epoch's keys, and the group's id.
    const id = root === undefined ? groupId(keys) : keyToId(root)
    const existing = await this.#groups.existing(id, options, 'joining the group')
    if (existing !== undefined) return existing
    return await this.#groups.open(id, {
      kind: 'multi-member',
      pk: keys.publicKey,
      secret: keys.secret,
      secretSig: keys.secretSig,
      linkKeySig: keys.linkKeySig,
      name,
      hints,
      joinedAt: this.#deps.now(),
      root
    }, options)
  }

  /** This peer's contact link, with the addresses it listens on now: give it to people who should be able to reach you. */
  contactLink (): string {
    return this.#contacts.link()
  }

  /** Makes a new contact link; requests made with links shared before are refused. */
  async resetContactLink (): Promise<string> {
    this.#assertRunning()
    return await this.#contacts.resetLink()
  }

  /**
   * Asks the owner of a contact link to become a contact. Resolves once the
   * request is on disk and was tried once (`requestDelivered` tells whether it
   * got through; if not, it is retried, across restarts, until it does).
   * Throws `InvalidLinkError` for a bad link, `ContactRequestRefusedError` for
   * a link its owner has reset. `contactAccepted` fires when they accept.
   * When `signal` aborts before the request got through, the try stops, the
   * request is given up (as `cancelContactRequest` does), and it rejects with `AbortError`.
   */
  async addContact (link: string, options: { message?: string } & AbortOptions = {}): Promise<Contact> {
    this.#assertRunning()
    return await this.#contacts.add(link, options)
  }

  contacts (): Contact[] {
    return this.#contacts.list()
  }

  contact (account: string): Contact | undefined {
    return this.#contacts.get(account)
  }

  /**
   * Accepts a pending contact request (as `contactRequest`'s `accept()` does).
   * Opening the contact group waits (a few seconds at most) to hear from the
   * contact: when `signal` aborts first, the request is pending again and it
   * rejects with `AbortError`.
   */
  async acceptContact (account: string, options: AbortOptions = {}): Promise<Group> {
    this.#assertRunning()
    return await this.#contacts.accept(account, options)
  }

  async declineContact (account: string): Promise<void> {
    this.#assertRunning()
    await this.#contacts.decline(account)
  }

  /** Gives up an outgoing request that was not delivered yet. */
  async cancelContactRequest (account: string): Promise<void> {
    await this.#contacts.cancel(account)
  }

  /**
   * Drops the records of messages sent once (`group.send(message, { once })`)
   * whose key starts with `keyPrefix` and is not in `keep`, in every group:
   * for the one sender that owns those keys (a durable outbox), at its start,
   * before it sends anything, with `keep` the keys of the messages it may
   * still send. A record left behind is one whose forgetting a crash lost
   * (`group.forgetSent`). Dropping the record of a message that may still be
   * sent again would let it go twice. Resolves with how many were dropped.
   */
  async forgetSentOnce (options: { keyPrefix: string, keep: Iterable<string> }): Promise<number> {
    this.#assertRunning()
    return await this.#deps.state.forgetSentOnceExcept(options.keyPrefix, new Set(options.keep))
  }

  /** Stops the peer: closes every group, the network node and the stores. Nothing keeps running. */
  async stop (): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#contacts?.stop()
      await this.#groups.stop()
      await this.#deps.sync.stop()
      await this.#deps.node.stop()
      await this.#deps.state.close()
    })()
    await this.#stopping
  }

  /** @internal Loads contacts, opens every group of the data directory, then starts answering; called once by `createPeer`. */
  async start (): Promise<void> {
    const { identity, state, node, logger, now, displayName } = this.#deps
    this.#contacts = await Contacts.load({
      identity,
      state,
      libp2p: node.libp2p,
      logger: namespaced(logger, 'protocol:contacts'),
      now,
      displayName,
      events: this,
      multiaddrs: () => this.multiaddrs,
      openContactGroup: async (contact, options) => await this.#groups.openContact(contact, options),
      contactGroup: (pk) => this.#groups.get(this.#groups.contactGroupId(pk)),
      addGroupPeer: async (group, peerId) => { await state.addGroupPeer(group.id, peerId) }
    })
    const queue = new PQueue({ concurrency: 4 })
    const stored = await state.groups()
    await Promise.all(stored.map(async ({ groupId: id, record }) => { await queue.add(async () => await this.#groups.open(id, record, { save: false })) }))
    await this.#contacts.start()
  }

  #assertRunning (): void {
    if (this.#stopping !== undefined) throw new NotRunningError('the peer is stopped')
  }
}
