/**
 * Errors raised by the peer. Each has a stable `code` so callers branch on
 * `err.code` (or `instanceof`), never on the message text.
 */
export class BertybotError extends Error {
  readonly code: string

  constructor (code: string, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
    this.code = code
  }
}

/** Why an invitation or link string was refused. */
export type InvalidLinkReason =
  | 'not-a-link' // not a URL of ours at all
  | 'wrong-kind' // a link of ours, but for something else (a contact link given as a group invitation)
  | 'unsupported-version' // made by a newer version of the protocol
  | 'malformed' // the data is not what a link of this kind contains
  | 'damaged' // the checksum fails: truncated or altered in transit
  | 'tampered' // well-formed, but its signatures do not match its keys

/** A group invitation or contact link that cannot be used; `reason` says why. */
export class InvalidLinkError extends BertybotError {
  readonly reason: InvalidLinkReason

  constructor (reason: InvalidLinkReason, message: string, options?: ErrorOptions) {
    super(`ERR_INVALID_LINK_${reason.toUpperCase().replaceAll('-', '_')}`, message, options)
    this.reason = reason
  }
}

/** A peer option is out of range or inconsistent. */
export class InvalidOptionError extends BertybotError {
  constructor (message: string, options?: ErrorOptions) {
    super('ERR_INVALID_OPTION', message, options)
  }
}

/** A message the peer will not send: it is not well-formed, or too big; the message says which part. */
export class InvalidMessageError extends BertybotError {
  constructor (message: string) {
    super('ERR_INVALID_MESSAGE', message)
  }
}

/** A key file exists but cannot be read as a key: the data directory is damaged or not ours. */
export class KeystoreError extends BertybotError {
  constructor (message: string, options?: ErrorOptions) {
    super('ERR_KEYSTORE', message, options)
  }
}

/** The data directory was written by a newer version of bertybot, or by something else. */
export class DataDirectoryError extends BertybotError {
  constructor (message: string, options?: ErrorOptions) {
    super('ERR_DATA_DIRECTORY', message, options)
  }
}

/** An environment variable has a value that cannot be used; `variable` names it. */
export class EnvironmentError extends BertybotError {
  readonly variable: string

  constructor (variable: string, message: string) {
    super('ERR_ENVIRONMENT', `${variable}: ${message}`)
    this.variable = variable
  }
}

/** An operation on a peer that was stopped, or a group that was closed. */
export class NotRunningError extends BertybotError {
  constructor (message: string) {
    super('ERR_NOT_RUNNING', message)
  }
}

/**
 * Why an entry from the network was dropped. Entries are never thrown at the
 * caller: the peer logs the reason and goes on.
 */
export type DropReason =
  | 'malformed' // not decodable as our envelope or app message
  | 'bad-signature' // the device signature does not verify
  | 'wrong-key' // sealed with a key this group does not use
  | 'replayed-counter' // this device's counter was already used
  | 'counter-out-of-window' // too far ahead of what this device's chain allows
  | 'unknown-type' // an app message or metadata event type we do not know
  | 'not-a-member' // signed by a device that is not a member of the group
  | 'unknown-target' // an edit or deletion of a message this peer has no record of
  | 'not-the-author' // an edit of a message by someone other than its author, or a deletion by someone neither its author nor an admin
  | 'not-an-admin' // a role granted or revoked, or a member removed, by someone who is not an admin
  | 'bad-clock' // an entry whose order counts (roles, removals) with a clock that does not follow its parents'
  | 'removed-member' // written to an epoch by a member it removed, after the removal

/** Something only a group's admins may do (remove a member, grant or revoke the role), asked by one who is not. */
export class NotAdminError extends BertybotError {
  constructor (message: string) {
    super('ERR_NOT_ADMIN', message)
  }
}

/** A change to someone else's message: only its author may make it (or, for a deletion, an admin of the group). */
export class NotTheAuthorError extends BertybotError {
  constructor (message: string) {
    super('ERR_NOT_THE_AUTHOR', message)
  }
}

/** This peer was removed from the group (or left it): it can no longer send there. */
export class RemovedFromGroupError extends BertybotError {
  constructor (message: string) {
    super('ERR_REMOVED_FROM_GROUP', message)
  }
}

/**
 * A sealed message was sealed for an epoch the group has since left (a member
 * was removed meanwhile): sending it there would let the removed member read
 * it. Seal the message again (`group.seal()`).
 */
export class EpochChangedError extends BertybotError {
  constructor (message: string) {
    super('ERR_EPOCH_CHANGED', message)
  }
}

/** A file is larger than the peer takes (`maxFileSize`), or than it said it was. */
export class FileTooLargeError extends BertybotError {
  /** The most the peer takes, in bytes. */
  readonly limit: number

  constructor (limit: number, message: string) {
    super('ERR_FILE_TOO_LARGE', message)
    this.limit = limit
  }
}

/** Why a received file could not be read. */
export type FileReadReason =
  | 'wrong-key' // its first segment does not open with the key its message gave
  | 'truncated' // it ends before its last segment, or is shorter than its message says
  | 'tampered' // a segment does not open: altered, reordered, or not this file's
  | 'too-large' // its blocks hold more than its message says, or more than the peer takes
  | 'not-a-file' // its root is not a file's

/** A received file that cannot be read; `reason` says why. */
export class FileReadError extends BertybotError {
  readonly reason: FileReadReason

  constructor (reason: FileReadReason, message: string, options?: ErrorOptions) {
    super(`ERR_FILE_${reason.toUpperCase().replaceAll('-', '_')}`, message, options)
    this.reason = reason
  }
}

/**
 * Why a relay stream was given up (`relay-streams.ts`, `entry-relay.ts`):
 * on the writer's side, every hand-over waiting on it fails, and the next opens another.
 */
export type RelayStreamReason =
  | 'timeout' // no answer came in time, or the stream did not open in time
  | 'out-of-turn' // an answer that is malformed or not the one the oldest hand-over waits for
  | 'stopped' // the sync stopped, or the peer disconnected
  | 'malformed' // a request that is not one: the relay ends the stream

/** A relay stream that was given up; `reason` says why. Internal: hand-overs on it return false, never throw. */
export class RelayStreamError extends BertybotError {
  readonly reason: RelayStreamReason

  constructor (reason: RelayStreamReason, message: string) {
    super(`ERR_RELAY_STREAM_${reason.toUpperCase().replaceAll('-', '_')}`, message)
    this.reason = reason
  }
}
