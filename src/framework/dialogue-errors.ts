/** Errors of dialogues (`dialogues.ts`), each with a stable `code`; those of a run name the dialogue. */
import { BertybotError } from '../protocol/index.ts'

/** A dialogue was registered wrongly: a bad name, or a name taken twice. */
export class DialogueDefinitionError extends BertybotError {
  constructor (message: string) {
    super('ERR_DIALOGUE_DEFINITION', message)
  }
}

/** A dialogue was used wrongly: entered from an event without a person, or two of its steps at once. */
export class DialogueUsageError extends BertybotError {
  constructor (message: string) {
    super('ERR_DIALOGUE_USAGE', message)
  }
}

/** `enter()` while the person already has a dialogue under way in that conversation (`dialogue` names it). */
export class DialogueActiveError extends BertybotError {
  readonly dialogue: string

  constructor (dialogue: string) {
    super('ERR_DIALOGUE_ACTIVE', `a dialogue ("${dialogue}") is already under way with this person in this conversation`)
    this.dialogue = dialogue
  }
}

/**
 * The dialogue's function threw on a step (`cause` is what it threw): the
 * step left no trace, and the dialogue is kept at its question or ended, as
 * its `onError` option says.
 */
export class DialogueStepError extends BertybotError {
  readonly dialogue: string

  constructor (dialogue: string, cause: unknown) {
    super('ERR_DIALOGUE_STEP', `dialogue "${dialogue}" failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
    this.dialogue = dialogue
  }
}

/**
 * The dialogue's function did not take again the steps it took before (it
 * is not deterministic, or its code changed under a dialogue under way), or
 * a recorded answer no longer passes its schema: the dialogue cannot go on,
 * and ends.
 */
export class DialogueReplayError extends BertybotError {
  readonly dialogue: string

  constructor (dialogue: string, message: string, options?: ErrorOptions) {
    super('ERR_DIALOGUE_REPLAY', `dialogue "${dialogue}" cannot resume: ${message}`, options)
    this.dialogue = dialogue
  }
}

/**
 * What `external(fn)` rejects with when `fn` threw: the failure is recorded
 * like a result, so the same error comes back when the step is replayed
 * (with `cause` only the first time; the message always).
 */
export class DialogueExternalError extends BertybotError {
  constructor (message: string, options?: ErrorOptions) {
    super('ERR_DIALOGUE_EXTERNAL', message, options)
  }
}
