import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ConfigFileError, guarded, loadConfigFile, parseConfigFile, strictObject } from 'bertybot'
import { BertybotError } from 'bertybot/protocol'
import { beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { tempDir } from '../helpers/temp.ts'

const lines = (...text: string[]): string => text.join('\n') + '\n'

/** A small routes file: a name, and routes each with a path and a port (the port checked by a throwing function). */
const checkPort = (port: number): number => {
  if (port < 1 || port > 65_535) throw new Error(`${port} is not a port (1 to 65535)`)
  return port
}
const schema = strictObject({
  name: z.string(),
  routes: z.array(strictObject({
    path: z.string(),
    port: z.number().transform(guarded(checkPort))
  }))
})

const parse = (text: string, path = 'routes.yaml'): z.output<typeof schema> => parseConfigFile(text, schema, { path })

/** The error a file's text is refused with. */
function refusal (text: string, path = 'routes.yaml'): ConfigFileError {
  try {
    parse(text, path)
  } catch (error) {
    if (error instanceof ConfigFileError) return error
    throw error
  }
  throw new Error('the file was accepted')
}

const GOOD = { name: 'hooks', routes: [{ path: '/github', port: 8080 }, { path: '/gitlab', port: 8081 }] }

describe('parseConfigFile', () => {
  it('reads a good YAML file', () => {
    expect(parse(lines('name: hooks', 'routes:', '  - path: /github', '    port: 8080', '  - path: /gitlab', '    port: 8081'))).toEqual(GOOD)
  })

  it('reads a good JSON file', () => {
    expect(parse(JSON.stringify(GOOD, null, 2), 'routes.json')).toEqual(GOOD)
  })

  it('refuses an unknown key at the key, with a did-you-mean and the known keys', () => {
    const error = refusal(lines('name: hooks', 'routes:', '  - path: /github', '    port: 8080', '    prot: 8081'))
    expect(error).toMatchObject({ code: 'ERR_CONFIG_FILE', path: 'routes.yaml', line: 5, column: 5 })
    expect(error.message).toBe('routes.yaml:5:5: routes[0]: unknown key "prot" (did you mean "port"?); known keys: path, port')
  })

  it('points a wrong type at a nested path at its line', () => {
    const error = refusal(lines('name: hooks', 'routes:', '  - path: /github', '    port: 8080', '  - path: /gitlab', '    port: eighty'))
    expect(error).toMatchObject({ line: 6, column: 11 })
    expect(error.message).toBe('routes.yaml:6:11: routes[1].port: expected number, got string eighty')
  })

  it('makes what a guarded check throws an issue at its field', () => {
    const error = refusal(lines('name: hooks', 'routes:', '  - path: /github', '    port: 99999'))
    expect(error.message).toBe('routes.yaml:4:11: routes[0].port: 99999 is not a port (1 to 65535)')
  })

  it('refuses an unknown key in JSON at its line and column too', () => {
    const error = refusal('{\n  "name": "hooks",\n  "routes": [],\n  "nmae": "x"\n}\n', 'routes.json')
    expect(error).toMatchObject({ line: 4, column: 3 })
    expect(error.message).toMatch(/^routes\.json:4:3: unknown key "nmae" \(did you mean "name"\?\)/)
  })

  it('reports a YAML syntax error where the parser stopped', () => {
    const error = refusal(lines('name: hooks', 'routes:', '  - path: /github: x', '    port: 8080'))
    expect(error).toMatchObject({ line: 3, column: 11 })
    expect(error.message).toBe('routes.yaml:3:11: Nested mappings are not allowed in compact mappings')
  })

  it('reports every problem, in the order of the file', () => {
    const error = refusal(lines('routes:', '  - path: /a', '    port: 0', '  - path: 5', '    port: 80', 'extra: 1'))
    expect(error).toMatchObject({ line: 1, column: 1 })
    expect(error.message.split('\n')).toEqual([
      'routes.yaml:1:1: name: required, but missing',
      'routes.yaml:3:11: routes[0].port: 0 is not a port (1 to 65535)',
      'routes.yaml:4:11: routes[1].path: expected text, got number 5',
      'routes.yaml:6:1: unknown key "extra"; known keys: name, routes'
    ])
  })

  it('takes an empty file for an empty mapping', () => {
    expect(refusal('').message).toBe('routes.yaml:1:1: name: required, but missing\nroutes.yaml:1:1: routes: required, but missing')
  })

  it('throws a BertybotError whose problem is the message without the file and position', () => {
    const error = refusal(lines('name: 5', 'routes: []'))
    expect(error).toBeInstanceOf(BertybotError)
    expect(error).toMatchObject({ name: 'ConfigFileError', problem: 'name: expected text, got number 5' })
  })
})

describe('loadConfigFile', () => {
  let dir: string
  beforeEach(async () => { dir = await tempDir('config-file') })

  it('reads and checks a .yaml, .yml or .json file', async () => {
    const yaml = lines('name: hooks', 'routes:', '  - { path: /github, port: 8080 }', '  - { path: /gitlab, port: 8081 }')
    for (const [name, text] of [['a.yaml', yaml], ['a.yml', yaml], ['a.JSON', JSON.stringify(GOOD)]] as const) {
      await writeFile(join(dir, name), text)
      expect(await loadConfigFile(join(dir, name), schema, { what: 'routes file' })).toEqual(GOOD)
    }
  })

  it('names the file and the line of a mistake', async () => {
    const path = join(dir, 'routes.yaml')
    await writeFile(path, lines('name: hooks', 'routes:', '  - path: /github', '    port: -1'))
    await expect(loadConfigFile(path, schema, { what: 'routes file' })).rejects.toMatchObject({ path, line: 4, column: 11, message: `${path}:4:11: routes[0].port: -1 is not a port (1 to 65535)` })
  })

  it('says so, without a line, when the file does not exist', async () => {
    const path = join(dir, 'missing.yaml')
    const error = await loadConfigFile(path, schema, { what: 'routes file' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConfigFileError)
    expect(error).toMatchObject({ code: 'ERR_CONFIG_FILE', path, line: undefined, message: `${path}: cannot read the routes file: there is no such file` })
  })

  it('refuses other extensions, before reading', async () => {
    const path = join(dir, 'routes.toml')
    await expect(loadConfigFile(path, schema, { what: 'routes file' })).rejects.toThrow(new ConfigFileError(path, 'a routes file is .yaml, .yml or .json'))
  })
})
