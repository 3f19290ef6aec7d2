/**
 * App messages: what members say to each other, inside the encryption
 * (Berty's `AppMessage`, WESH.md §3, with its type numbers). User messages,
 * acknowledgements and invitations travel on the message log; user and group
 * info on the metadata log, so that later members see them too.
 */
import { z } from 'zod'
import { dagCbor, encodeCbor, validate } from './encoding.ts'
import { fileReferenceSchema, MAX_FILES_PER_MESSAGE } from './file-reference.ts'
import { uint } from './schemas.ts'

export const AppMessageType = {
  UserMessage: 1,
  GroupInvitation: 3,
  SetGroupInfo: 4,
  SetUserInfo: 5,
  Acknowledge: 6
} as const

/** Longest text a user message may carry, in UTF-16 code units. */
export const MAX_TEXT_LENGTH = 32_000
const messageId = z.string().min(1).max(128)

const userMessage = z.object({
  type: z.literal(AppMessageType.UserMessage),
  text: z.string().max(MAX_TEXT_LENGTH),
  replyTo: messageId.optional(),
  sentAt: uint,
  /** Files sent with the text: what fetches and opens each (`file-reference.ts`). */
  files: z.array(fileReferenceSchema).min(1).max(MAX_FILES_PER_MESSAGE).optional()
})
const groupInvitation = z.object({
  type: z.literal(AppMessageType.GroupInvitation),
  invitation: z.string().max(4096),
  sentAt: uint
})
const setGroupInfo = z.object({
  type: z.literal(AppMessageType.SetGroupInfo),
  name: z.string().max(200),
  sentAt: uint
})
const setUserInfo = z.object({
  type: z.literal(AppMessageType.SetUserInfo),
  displayName: z.string().max(200),
  sentAt: uint
})
const acknowledge = z.object({
  type: z.literal(AppMessageType.Acknowledge),
  target: messageId,
  sentAt: uint
})

export const appMessageSchema = z.discriminatedUnion('type', [userMessage, groupInvitation, setGroupInfo, setUserInfo, acknowledge])

export type AppMessage = z.infer<typeof appMessageSchema>
export type UserMessage = z.infer<typeof userMessage>
export type AckMessage = z.infer<typeof acknowledge>
export type GroupInvitationMessage = z.infer<typeof groupInvitation>
export type SetGroupInfoMessage = z.infer<typeof setGroupInfo>
export type SetUserInfoMessage = z.infer<typeof setUserInfo>

export function encodeAppMessage (message: AppMessage): Uint8Array {
  // dag-cbor refuses `undefined`: drop absent optional fields.
  const clean = Object.fromEntries(Object.entries(message).filter(([, v]) => v !== undefined))
  return encodeCbor(clean)
}

export type AppMessageDecoding =
  | { ok: true, message: AppMessage }
  | { ok: false, reason: 'unknown-type' | 'malformed', detail: string }

const knownTypes: ReadonlySet<unknown> = new Set(Object.values(AppMessageType))

export function decodeAppMessage (bytes: Uint8Array): AppMessageDecoding {
  let value: unknown
  try {
    value = dagCbor.decode(bytes)
  } catch (err) {
    return { ok: false, reason: 'malformed', detail: `not CBOR: ${(err as Error).message}` }
  }
  if (typeof value === 'object' && value !== null && 'type' in value && !knownTypes.has(value.type)) {
    return { ok: false, reason: 'unknown-type', detail: `app message type ${String(value.type)}` }
  }
  let detail = ''
  const message = validate(value, appMessageSchema, (reason) => { detail = reason })
  return message === undefined ? { ok: false, reason: 'malformed', detail } : { ok: true, message }
}
