/**
 * `bertybot`: bots for a Berty-style messenger, in a few lines.
 * The peer under them is `bertybot/protocol`; test helpers are `bertybot/testing`.
 */
export { createBot, Bot, type BotOptions } from './bot.ts'
export type { BotStats } from './runtime.ts'
export { Composer, compose, inContactConversation, inGroupConversation, type Middleware, type MiddlewareObj, type NextFunction } from './composer.ts'
export {
  AcknowledgementContext, ButtonContext, CommandContext, ContactAcceptedContext, ContactRequestContext, GroupInvitationContext,
  MemberJoinedContext, MessageContext, MessageDeletedContext, MessageEditedContext, ReactionContext, ScheduleContext, TaskContext,
  type BotView, type Context, type ContextMap, type EventType, type FileReplyOptions, type KeyValue, type ReceivedFile, type ReceivedMessage, type Recipient, type ScheduleRun,
  type SendOptions
} from './context.ts'
export { Conversation, Conversations, type ContactView } from './conversations.ts'
export { Dialogue, type DialogueOptions, type DialogueTexts } from './dialogues.ts'
export { DialogueControl, type DialogueEventContext, type DialogueFunction } from './dialogue-step.ts'
export {
  DialogueActiveError, DialogueDefinitionError, DialogueExternalError, DialogueReplayError, DialogueStepError, DialogueUsageError
} from './dialogue-errors.ts'
export { parseCommandArgs, parseHelp, tokenize, type ListedCommand, type ArgsOf, type ArgsSchema, type CommandOptions, type CommandRole } from './commands.ts'
export { autoAcceptContacts, autoJoinGroups, welcome } from './recipes.ts'
export { defaultRateLimitReply, rateLimit, type RateLimitInfo, type RateLimitOptions } from './rate-limit.ts'
export type { BlockedAccount } from './block-list.ts'
export { accountListSchema, accountSchema } from './accounts.ts'
export { nextOccurrence, validateSchedule, type Schedule, type ScheduleOptions } from './schedule.ts'
export { environment, loadConfig, loadSettings, type BotConfig, type BotConfigOptions, type HttpListen, type SettingsSchema } from './config.ts'
export type { BotHealth } from './http.ts'
export { BotMetrics } from './metrics.ts'
export { DurationError, formatDuration, parseDuration, type DurationOptions } from './durations.ts'
export { isTimeZone, notATimeZone } from './time-zones.ts'
export { BotError, CommandDefinitionError, ConfigError, InvalidAccountError, LifecycleError, MiddlewareError, ScheduleError, StateConflictError, TransactionError } from './errors.ts'
export {
  AbortError, BertybotError, EnvironmentError, FileReadError, FileTooLargeError, InvalidMessageError, NotRunningError, systemClock,
  MAX_BUTTON_LABEL_LENGTH, MAX_BUTTON_PAYLOAD_LENGTH, MAX_BUTTON_ROWS, MAX_BUTTONS_PER_ROW, MAX_EMOJI_LENGTH, MAX_TEXT_LENGTH,
  type AbortOptions, type Button, type ButtonRows, type Clock, type Contact, type Group, type Logger, type Member, type MessageFormat, type Peer, type Sender
} from '../protocol/index.ts'
export { escapeMarkdown } from './markdown.ts'
export { ConfigFileError, guarded, loadConfigFile, parseConfigFile, strictObject, type FilePosition } from './config-file.ts'
