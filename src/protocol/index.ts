/**
 * `bertybot/protocol`: the peer. The framework (`bertybot`) and the
 * `bertybot` command use only what this file exports.
 */
export { createPeer, Peer } from './peer.ts'
export { DEFAULT_LISTEN, type PeerOptions } from './peer-options.ts'
export type { Contact, Files, Group, GroupSendOptions, SealedMessage, SendFileOptions, SendOnce, SendOptions } from './handles.ts'
export {
  MAX_BUTTON_LABEL_LENGTH, MAX_BUTTON_PAYLOAD_LENGTH, MAX_BUTTON_ROWS, MAX_BUTTONS_PER_ROW, MAX_EMOJI_LENGTH, MAX_TEXT_LENGTH,
  type Button, type ButtonRows, type MessageFormat
} from './app-messages.ts'
export {
  checkOutgoing, outgoingMessageSchema,
  type ButtonPressMessage, type DeletionMessage, type EditMessage, type OutgoingKind, type OutgoingMessage, type ReactionMessage, type TextMessage
} from './outgoing-message.ts'
export { DEFAULT_MAX_FILE_SIZE, MAX_FILES_PER_MESSAGE, MAX_PREVIEW_BYTES, type FileReference } from './file-reference.ts'
export type { FileDescription, FileSource } from './file-store.ts'
export { DEFER_GRACE_MS } from './message-pipeline.ts'
export type { Member, MemberRole } from './membership.ts'
export { mayChange, type ChangedBy, type MessageChange } from './message-authors.ts'
export type {
  AcknowledgementEvent, ButtonPressedEvent, ContactAcceptedEvent, ContactRequestEvent, Delivery, DeliveryMode, GroupChangedEvent, GroupInvitationEvent, GroupOpenedEvent,
  HandedOverEvent, MemberJoinedEvent, MessageDeletedEvent, MessageEditedEvent, MessageEvent, PeerEvents, ReactionEvent, ReceivedFile, Sender
} from './events.ts'
export { ContactRequestRefusedError } from './contacts.ts'
export { decodeContactLink, type ContactLink } from './contact-link.ts'
export { HandshakeError } from './handshake.ts'
export { createReplica, Replica, type ReplicaEvents, type ReplicaOptions } from './replica.ts'
export { decodeReplicaLink, ReplicationError, type ReplicaLink } from './replication.ts'
export { GroupAccessController, GROUP_ACCESS_CONTROLLER_TYPE, type GroupAccessControllerOptions } from './access-controller.ts'
export { deriveContactGroupKeys, createMultiMemberGroupKeys, decodeInvitation, groupId, type GroupKeys, type GroupKind, type Invitation } from './group-keys.ts'
export { keyToId, idToKey } from './encoding.ts'
export {
  BertybotError, DataDirectoryError, EnvironmentError, EpochChangedError, FileReadError, FileTooLargeError, InvalidLinkError, InvalidMessageError, InvalidOptionError, KeystoreError,
  NotAdminError, NotRunningError, NotTheAuthorError, RemovedFromGroupError, type DropReason, type FileReadReason, type InvalidLinkReason
} from './errors.ts'
export { createLogger, defaultLogger, loggerOptionsFromEnv, namespaced, type Logger, type LoggerOptions, type LogFormat, type LogLevel } from './logger.ts'
export type { DhtMode } from './node.ts'
export type { SigningKeyPair } from './crypto.ts'
export { openPrivateLevel, type PrivateLevel } from './private-level.ts'
export { GroupCommit } from './group-commit.ts'
export { writePrivateFile } from './private-file.ts'
export { Backoff } from './backoff.ts'
export { AbortError, abortableUntilCommit, type AbortOptions } from './abort.ts'
export { systemClock, type Clock } from './clock.ts'
