import { describe, expect, it } from 'vitest'
import { decodeBase64, decodeMessage, priorityBucket, quickSummary, redactKwargs } from '../../../src/queues/message.js'
import { dumpsPython, parseLossless, parseTolerant } from '../../../src/queues/pyjson.js'
import { parseBindingMember, queueOfListKey, topicMatch } from '../../../src/queues/broker.js'
import { unackedRoutingKey } from '../../../src/queues/list.js'
import { redeliveredPayload } from '../../../src/queues/unacked.js'
import { printable } from '../../../src/queues/render.js'
import { parseDuration } from '../../../src/cli/output.js'
import { celeryKeys } from '../../../src/dify/keys.js'

// the message observed with Celery 5.2.6 (test-services.md §6)
const RAW =
  '{"body": "W1siZHMyIl0sIHt9LCB7ImNhbGxiYWNrcyI6IG51bGwsICJlcnJiYWNrcyI6IG51bGwsICJjaGFpbiI6IG51bGwsICJjaG9yZCI6IG51bGx9XQ==", "content-encoding": "utf-8", "content-type": "application/json", "headers": {"lang": "py", "task": "tasks.build_dataset", "id": "32621ea3-bf04-4a74-8b06-13da830acf0b", "shadow": null, "eta": "2026-11-28T03:15:09.187750+00:00", "expires": null, "group": null, "group_index": null, "retries": 0, "timelimit": [null, null], "root_id": "32621ea3-bf04-4a74-8b06-13da830acf0b", "parent_id": null, "argsrepr": "(\'ds2\',)", "kwargsrepr": "{}", "origin": "gen7178@vm", "ignore_result": false}, "properties": {"correlation_id": "32621ea3-bf04-4a74-8b06-13da830acf0b", "reply_to": "97b9ad29-c293-37ca-a2b7-0d419d5d9715", "delivery_mode": 2, "delivery_info": {"exchange": "", "routing_key": "dataset"}, "priority": 0, "body_encoding": "base64", "delivery_tag": "4e82783a-cc9e-40cf-8b81-537fa3aeef7e"}}'

describe('decodeMessage', () => {
  it('decodes a real protocol 2 message', () => {
    const m = decodeMessage(RAW)
    expect(m).toMatchObject({
      status: 'ok',
      protocol: 2,
      task: 'tasks.build_dataset',
      id: '32621ea3-bf04-4a74-8b06-13da830acf0b',
      args: "('ds2',)",
      kwargs: '{}',
      eta: '2026-11-28T03:15:09.187750+00:00',
      retries: 0,
      origin: 'gen7178@vm',
      routingKey: 'dataset',
      exchange: '',
      priority: 0,
      redelivered: false,
    })
    expect(m.bodySize).toBeGreaterThan(10)
  })
  it('renders args from the JSON body when argsrepr is absent', () => {
    const env = JSON.parse(RAW)
    delete env.headers.argsrepr
    delete env.headers.kwargsrepr
    env.body = Buffer.from('[["x", {"__type__": "uuid", "__value__": "u-1"}], {"k": 1}, {}]').toString('base64')
    expect(decodeMessage(JSON.stringify(env))).toMatchObject({ status: 'ok', args: '["x","u-1"]', kwargs: '{"k":1}' })
  })
  it("hides credential keyword arguments (Dify's invite token, verification code) in kwargsrepr and in the body", () => {
    const env = JSON.parse(RAW)
    env.headers.kwargsrepr =
      "{'language': 'en-US', 'to': 'a@example.com', 'token': 'inv-SECRET-1', 'code': '123456', 'inviter_name': 'o'}"
    const m = decodeMessage(JSON.stringify(env))
    expect(m.kwargs).toBe(
      "{'language': 'en-US', 'to': 'a@example.com', 'token': '***', 'code': '***', 'inviter_name': 'o'}",
    )
    delete env.headers.kwargsrepr
    env.body = Buffer.from('[[], {"to": "a@example.com", "token": "inv-SECRET-2", "api_key": 7}, {}]').toString(
      'base64',
    )
    const b = decodeMessage(JSON.stringify(env))
    expect(b.kwargs).toBe('{"to":"a@example.com","token":"***","api_key":"***"}')
    expect(redactKwargs({ code: 'x', language: 'en' })).toEqual({ code: '***', language: 'en' })
    expect(redactKwargs(null)).toBe(null)
  })
  it('never decodes non-JSON bodies and never throws', () => {
    const env = JSON.parse(RAW)
    env['content-type'] = 'application/x-msgpack'
    expect(decodeMessage(JSON.stringify(env))).toMatchObject({ status: 'opaque', task: 'tasks.build_dataset' })
    for (const bad of ['', 'null', '[]', '{"body": 5}', '{"body": "%%%", "properties": {"body_encoding": "base64"}}']) {
      expect(decodeMessage(bad).status).toBe('malformed')
    }
    // no content type: not JSON by declaration, so not decoded
    expect(decodeMessage('{"headers": "x", "body": "e30="}')).toMatchObject({ status: 'opaque', contentType: null })
  })
  it('compressed bodies are opaque', () => {
    const env = JSON.parse(RAW)
    env.headers.compression = 'application/x-gzip'
    expect(decodeMessage(JSON.stringify(env))).toMatchObject({ status: 'opaque' })
  })
  it('strict base64', () => {
    expect(decodeBase64('e30=')?.toString()).toBe('{}')
    expect(decodeBase64('e30')).toBeNull()
    expect(decodeBase64('e3$=')).toBeNull()
  })
  it('priority buckets follow kombu steps', () => {
    expect([0, 1, 2, 3, 5, 6, 8, 9, 12, -1, null].map((p) => priorityBucket(p))).toEqual([
      0, 0, 0, 3, 3, 6, 6, 9, 9, 0, 0,
    ])
  })
})

describe('quickSummary (the stats fast path)', () => {
  it('agrees with decodeMessage on Celery-layout messages and declines anything else', () => {
    const env = JSON.parse(RAW)
    const variants = [
      RAW,
      RAW.replace('"retries": 0,', '"retries": 0, "redelivered": true,'),
      // look-alikes that are not the keys: another key name, and the text inside a string value
      RAW.replace('"retries": 0,', '"retries": 0, "not_redelivered": true, "xcompression": "gzip",'),
      RAW.replace('"kwargsrepr": "{}"', '"kwargsrepr": "{\\"redelivered\\": true, \\"compression\\": \\"x\\"}"'),
      RAW.replace('"content-type": "application/json"', '"content-type": "application/x-python-serialize"'),
      RAW.replace('"content-type": "application/json"', '"content-type": "Application/JSON; charset=utf-8"'),
      RAW.replace('"retries": 0,', '"retries": 0, "compression": "application/x-gzip",'),
      RAW.replace('"task": "tasks.build_dataset"', '"task": "tasks.we\\"ird"'),
      RAW.replace('"eta": "2026-11-28T03:15:09.187750+00:00"', '"eta": null'),
      RAW.replace('"eta": "2026-11-28T03:15:09.187750+00:00"', '"eta": "2026-11-28T03:15:09\\u002b00:00"'),
      // a body that is not base64-encoded is not validated (as decodeMessage with body: false)
      RAW.replace('"body": "W1si', '"body": "-_\\n').replace('"body_encoding": "base64", ', ''),
    ]
    for (const v of variants) {
      const q = quickSummary(v)!
      const d = decodeMessage(v, { body: false })
      expect(q, v).not.toBeNull()
      expect(d.status).not.toBe('malformed')
      expect({ task: q.task, eta: q.eta, redelivered: q.redelivered, size: q.size, opaque: q.opaque }).toEqual({
        task: d.task,
        eta: d.eta,
        redelivered: d.redelivered,
        size: d.size,
        opaque: d.status === 'opaque',
      })
    }
    // declined: not Celery's layout, truncated, no argsrepr/kwargsrepr (the body would be read), non-ASCII task name
    expect(quickSummary(JSON.stringify(env))).toBeNull()
    expect(quickSummary(RAW.slice(0, -5))).toBeNull()
    expect(quickSummary(RAW.replace('"argsrepr": "(\'ds2\',)", ', ''))).toBeNull()
    expect(quickSummary(RAW.replace('"kwargsrepr": "{}"', '"kwargsrepr": null'))).toBeNull()
    expect(quickSummary(RAW.replace('"task": "tasks.build_dataset"', '"task": "tasks.bu\u00efld"'))).toBeNull()
    // declined bodies that are not strict base64: decodeMessage finds them malformed
    const body =
      'W1siZHMyIl0sIHt9LCB7ImNhbGxiYWNrcyI6IG51bGwsICJlcnJiYWNrcyI6IG51bGwsICJjaGFpbiI6IG51bGwsICJjaG9yZCI6IG51bGx9XQ=='
    const bad = [
      '!!' + body.slice(2),
      body.slice(1),
      body + '=',
      'W1s=' + body.slice(4),
      body.slice(0, 8) + '-' + body.slice(9),
      body.slice(0, 8) + '_' + body.slice(9),
      body.slice(0, 8) + ' ' + body.slice(9),
      body.slice(0, 8) + '\u00e9' + body.slice(10),
      body.slice(0, -3) + '===',
    ]
    for (const b of bad) {
      const v = RAW.replace(body, b)
      expect(quickSummary(v), b).toBeNull()
      expect(decodeMessage(v, { body: false }).status, b).toBe('malformed')
    }
    // a JSON escape in the body is declined too, and left to decodeMessage (here it is valid base64 once decoded)
    const escaped = RAW.replace(body, body.slice(0, 8) + '\\u0041' + body.slice(9))
    expect(quickSummary(escaped)).toBeNull()
    expect(decodeMessage(escaped, { body: false }).status).toBe('ok')
  })
})

describe('Python-compatible JSON', () => {
  it('tolerates NaN and Infinity', () => {
    expect(parseTolerant('[NaN, -Infinity, "NaN"]')).toEqual([NaN, -Infinity, 'NaN'])
  })
  it('re-serialises like json.dumps, keeping number literals and escaping non-ASCII', () => {
    const text = '{"a":[1.0,2,1e100,-0.5],"é":"x\\u2028\\"😀","n":null,"t":true,"__proto__":1}'
    expect(dumpsPython(parseLossless(text))).toBe(
      '{"a": [1.0, 2, 1e100, -0.5], "\\u00e9": "x\\u2028\\"\\ud83d\\ude00", "n": null, "t": true, "__proto__": 1}',
    )
  })
  it('rejects malformed JSON', () => {
    for (const bad of ['{', '[1,]', '{"a" 1}', '"\\x"', '01', 'tru'])
      expect(() => parseLossless(bad)).toThrow(SyntaxError)
  })
  it('marks a restored message as redelivered, as kombu', () => {
    const value = JSON.stringify([JSON.parse(RAW), '', 'dataset'])
    const r = redeliveredPayload(value)
    expect(r).toMatchObject({ exchange: '', routingKey: 'dataset', priority: 0 })
    expect(r.payload).toContain('"ignore_result": false, "redelivered": true}')
    expect(r.payload).toContain('"routing_key": "dataset", "redelivered": true}')
  })
})

describe('broker key model', () => {
  const b = { client: null as never, prefix: 'p:', db: 1 }
  it('binding members and list keys', () => {
    expect(parseBindingMember('dataset\x06\x16\x06\x16dataset')).toEqual({
      routingKey: 'dataset',
      pattern: '',
      queue: 'dataset',
    })
    expect(parseBindingMember('nope')).toBeNull()
    expect(queueOfListKey(b, 'p:mail\x06\x169')).toEqual({ queue: 'mail', priority: 9 })
    expect(queueOfListKey(b, 'p:mail')).toEqual({ queue: 'mail', priority: 0 })
    expect(queueOfListKey(b, 'q:mail')).toBeNull()
    expect(celeryKeys.pidboxChannel(1, 'p:')).toBe('p:/1.celery.pidbox')
    expect(celeryKeys.bindingPattern('a*b:')).toBe('a\\*b:_kombu.binding.*')
  })
  it('topic patterns', () => {
    expect(topicMatch('worker.#', 'worker.heartbeat')).toBe(true)
    expect(topicMatch('a.*.c', 'a.b.c')).toBe(true)
    expect(topicMatch('a.*.c', 'a.b.d')).toBe(false)
  })
  it('routing key of an unacked value', () => {
    expect(unackedRoutingKey(JSON.stringify([{ body: 'x' }, '', 'mail']))).toBe('mail')
    expect(unackedRoutingKey('[{"body": "x"}, "", "da\\"ta"]')).toBe('da"ta')
    expect(unackedRoutingKey('garbage')).toBeNull()
  })
  it('durations and printable names', () => {
    expect(['90s', '15m', '2h', '1d', '0', '500ms', 'x'].map(parseDuration)).toEqual([
      90,
      900,
      7200,
      86400,
      0,
      0.5,
      null,
    ])
    expect(printable('mail\x06\x169')).toBe('mail\\x06\\x169')
  })
})
