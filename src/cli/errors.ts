import { BertybotError } from '../protocol/index.ts'

/** `bertybot new` cannot make the project: the directory has files or is not one, a bad name, a bad --from. */
export class NewProjectError extends BertybotError {
  constructor (message: string) {
    super('ERR_NEW_PROJECT', message)
  }
}
