/**
 * The peer's identity keys, one file each under `<dataDir>/keys/`, mode 0600.
 * A key is written as every private file is (`private-file.ts`): a crash
 * leaves either the old file or the new one, never half a key.
 */
import { chmod, mkdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { generateSigningKeyPair, signingKeyPairFromSeed, type SigningKeyPair } from './crypto.ts'
import { KeystoreError } from './errors.ts'
import type { Logger } from './logger.ts'
import { writePrivateFile } from './private-file.ts'

const keyFileSchema = z.object({
  format: z.literal('bertybot-ed25519-seed'),
  version: z.literal(1),
  seed: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'expected a base64url 32-byte seed')
})

/** The keys that make a peer who it is (Wesh `accountSK` and `deviceSK`). */
export interface IdentityKeys {
  /** The account: the user's or bot's identity, its public key is the account id. */
  readonly account: SigningKeyPair
  /** This running instance. A second device of the same account would share `account` only. */
  readonly device: SigningKeyPair
}

export async function loadOrCreateIdentity (dataDir: string, logger: Logger): Promise<IdentityKeys> {
  const dir = join(dataDir, 'keys')
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await chmod(dir, 0o700)
  const account = await loadOrCreateKey(join(dir, 'account.key'), logger)
  const device = await loadOrCreateKey(join(dir, 'device.key'), logger)
  return { account, device }
}

async function loadOrCreateKey (path: string, logger: Logger): Promise<SigningKeyPair> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new KeystoreError(`cannot read key file ${path}: ${(err as Error).message}`, { cause: err })
    }
    const key = generateSigningKeyPair()
    await writeKeyFile(path, key)
    return key
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new KeystoreError(`key file ${path} is not JSON: the data directory is damaged`, { cause: err })
  }
  const parsed = keyFileSchema.safeParse(json)
  if (!parsed.success) {
    throw new KeystoreError(`key file ${path} is not a bertybot key (${parsed.error.issues[0]?.message ?? 'invalid'})`)
  }
  const mode = (await stat(path)).mode & 0o777
  if ((mode & 0o077) !== 0) {
    logger.warn({ path, mode: mode.toString(8) }, 'key file was readable by others; restricting it to 0600')
    await chmod(path, 0o600)
  }
  return signingKeyPairFromSeed(new Uint8Array(Buffer.from(parsed.data.seed, 'base64url')))
}

async function writeKeyFile (path: string, key: SigningKeyPair): Promise<void> {
  const body = JSON.stringify({
    format: 'bertybot-ed25519-seed',
    version: 1,
    seed: Buffer.from(key.seed).toString('base64url')
  } satisfies z.infer<typeof keyFileSchema>)
  await writePrivateFile(path, body + '\n')
}
