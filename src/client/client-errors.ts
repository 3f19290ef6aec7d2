/** What the client refuses, as `ClientError`s with a code a caller (the web page, the terminal) can tell apart. */
import { BertybotError } from '../protocol/index.ts'

export type ClientErrorCode =
  | 'ERR_NO_CONVERSATION' | 'ERR_NO_REQUEST' | 'ERR_NOT_A_GROUP' | 'ERR_NO_CONTACT' | 'ERR_MESSAGE_TOO_LONG' | 'ERR_EMPTY_MESSAGE'
  /** No message of that seq, or it cannot have that done to it. */
  | 'ERR_NO_MESSAGE' | 'ERR_NOT_YOURS' | 'ERR_NOT_SENT_YET' | 'ERR_MESSAGE_DELETED' | 'ERR_NO_BUTTON'
  /** No file of that index, or one larger than the peer reads. */
  | 'ERR_NO_FILE' | 'ERR_FILE_TOO_LARGE'
  /** Not an account id nor a contact link, or our own (`blocks.block`). */
  | 'ERR_INVALID_ACCOUNT' | 'ERR_BLOCK_SELF'

export class ClientError extends BertybotError {
  constructor (code: ClientErrorCode, message: string) {
    super(code, message)
  }
}
