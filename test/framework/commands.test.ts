import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { parseCommandArgs, tokenize } from 'bertybot'

describe('command arguments', () => {
  const roll = z.object({ sides: z.coerce.number().int().min(2).default(6) })
  const say = z.object({ text: z.string(), loud: z.coerce.boolean().default(false) })
  const tag = z.object({ name: z.string(), tags: z.array(z.string()).default([]) })

  it('maps words to the schema\'s keys in order, and flags by name', () => {
    expect(parseCommandArgs('', roll)).toEqual({ ok: true, args: { sides: 6 } })
    expect(parseCommandArgs('20', roll)).toEqual({ ok: true, args: { sides: 20 } })
    expect(parseCommandArgs('--sides=12', roll)).toEqual({ ok: true, args: { sides: 12 } })
    expect(parseCommandArgs('--sides 8', roll)).toEqual({ ok: true, args: { sides: 8 } })
  })

  it('takes quoted arguments, and joins extra words into a last text argument', () => {
    expect(parseCommandArgs('"hello world" --loud', say)).toEqual({ ok: true, args: { text: 'hello world', loud: true } })
    expect(parseCommandArgs('hello there world', say)).toEqual({ ok: true, args: { text: 'hello there world', loud: false } })
    expect(parseCommandArgs("don't split me", say)).toEqual({ ok: true, args: { text: "don't split me", loud: false } })
    expect(parseCommandArgs('“curly quotes” --loud', say)).toEqual({ ok: true, args: { text: 'curly quotes', loud: true } })
    expect(parseCommandArgs('"say \\"hi\\""', say)).toEqual({ ok: true, args: { text: 'say "hi"', loud: false } })
    expect(parseCommandArgs('box red green blue', tag)).toEqual({ ok: true, args: { name: 'box', tags: ['red', 'green', 'blue'] } })
  })

  it('says which argument is wrong and why', () => {
    const bad = parseCommandArgs('one', roll)
    expect(bad.ok).toBe(false)
    expect(!bad.ok && bad.error).toMatch(/sides/)
    const tooSmall = parseCommandArgs('1', roll)
    expect(!tooSmall.ok && tooSmall.error).toMatch(/sides: .*2/)
    expect(parseCommandArgs('', say)).toEqual({ ok: false, error: 'Bad argument - text: missing.' })
    expect(parseCommandArgs('--colour=red', roll)).toMatchObject({ ok: false, error: expect.stringMatching(/Unknown option --colour.*--sides/) })
    expect(parseCommandArgs('6 7', roll)).toEqual({ ok: false, error: 'Unexpected argument "7".' })
    expect(parseCommandArgs('"unclosed', say)).toEqual({ ok: false, error: 'A quote is not closed.' })
    expect(parseCommandArgs('anything', undefined)).toEqual({ ok: false, error: 'This command takes no arguments.' })
  })

  it('never fills flag-only options with words: they come as --flag value', () => {
    const remind = z.object({ text: z.string(), to: z.string().optional(), tz: z.string().optional() })
    expect(parseCommandArgs('tea at five', remind, { flags: ['to', 'tz'] })).toEqual({ ok: true, args: { text: 'tea at five' } })
    expect(parseCommandArgs('tea at five --to ops', remind, { flags: ['to', 'tz'] })).toEqual({ ok: true, args: { text: 'tea at five', to: 'ops' } })
    // Without flags, words fill every key in order.
    expect(parseCommandArgs('tea at five', remind)).toEqual({ ok: true, args: { text: 'tea', to: 'at', tz: 'five' } })
  })
})

describe('tokenize', () => {
  it('splits on spaces, groups quoted words, reads escaped quotes, and leaves apostrophes alone', () => {
    expect(tokenize('a "b c" don\'t')).toEqual(['a', 'b c', "don't"])
    expect(tokenize('say “curly quotes” ""')).toEqual(['say', 'curly quotes', ''])
    expect(tokenize('"a \\"quote\\" inside"')).toEqual(['a "quote" inside'])
    expect(tokenize('"open')).toBeUndefined()
  })

  it('keeps quotes and escapes inside words when asked, for words read again (matchers)', () => {
    expect(tokenize('alertname="High latency" severity=~"crit.*" 2h', { keepQuotes: true })).toEqual(['alertname="High latency"', 'severity=~"crit.*"', '2h'])
    expect(tokenize('code=~"\\d+" msg="say \\"hi\\""', { keepQuotes: true })).toEqual(['code=~"\\d+"', 'msg="say \\"hi\\""'])
    expect(tokenize('job=“api”', { keepQuotes: true })).toEqual(['job="api"'])
    expect(tokenize('job="api', { keepQuotes: true })).toBeUndefined()
  })
})
