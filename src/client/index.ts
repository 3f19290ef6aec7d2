/**
 * The client layer: what a person's client (`bertybot web`, `bertybot chat`)
 * keeps beside its peer. It uses the peer only through `bertybot/protocol`.
 */
export { ChatClient, type ClientEvents, type ClientOptions } from './client.ts'
export type { BlockedView, ClientBlocks } from './client-blocks.ts'
export { ClientError, type ClientErrorCode } from './client-errors.ts'
export type { FileToRead, FileToSend } from './client-files.ts'
export { MAX_PAGE, type DeliveryState, type OfferedCommand } from './history.ts'
export type { ConversationView, FileView, MessageView, ReactionView, RequestView } from './views.ts'
