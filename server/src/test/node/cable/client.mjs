// Drives a real ActionCable client under Node for the Java tests.
//   node cable/client.mjs <rails|legacy|anycable> <ws url> [token]
// The token, if given, is set as Lessy does: document.cookie = 'Authorization=<token>;path=/'.
// stdin, one command per line:
//   subscribe <params json>     e.g. subscribe {"channel":"NotificationsChannel"}
//   unsubscribe <params json>
//   join <params json> <id> <info json> | leave <params json> | presence <params json>
//                               anycable only: the channel's presence API (prints `presence`);
//   presence-cached <params json>  the same without resetting the client's cache, which the
//                               server's pushed joins/leaves keep up to date (prints `presence`)
//   offline | online            cut / restore the network (see browser.mjs)
//   alive                       prints `alive` (the script is still running)
//   exit
// stdout: `<event> <json>` lines: frame, connect, disconnect, close, subscribed, rejected,
// disconnected, received, info, uncaught, alive.
import { createRequire } from 'node:module'
import readline from 'node:readline'
import { document, window, network, goOffline, goOnline, print } from './browser.mjs'

const [kind, url, token] = process.argv.slice(2)
if (token) document.cookie = `Authorization=${token};path=/`

const require = createRequire(import.meta.url)
let subscribe, unsubscribe, cable, presenceCommand

if (kind === 'rails' || kind === 'legacy') {
  const ActionCable = kind === 'rails' ? require('@rails/actioncable') : require('actioncable')
  const consumer = ActionCable.createConsumer(url)
  const subs = new Map()
  subscribe = params => {
    const key = JSON.stringify(params)
    const sub = consumer.subscriptions.create(params, {
      connected(arg) { print('subscribed', { identifier: this.identifier, arg: arg ?? null }) },
      disconnected(arg) { print('disconnected', { identifier: this.identifier, arg: arg ?? null }) },
      rejected() { print('rejected', { identifier: this.identifier }) },
      received(data) { print('received', { identifier: this.identifier, message: data }) },
    })
    subs.set(key, sub)
  }
  unsubscribe = params => subs.get(JSON.stringify(params))?.unsubscribe()
} else if (kind === 'anycable') {
  const { createCable } = await import('@anycable/web')
  const { backoffWithJitter } = await import('@anycable/core')
  // @anycable/core 1.x drops a subscribe cut before its confirmation for good (anycable-reset-fix.mjs)
  const { fixExtendedProtocolReset } = await import('./anycable-reset-fix.mjs')
  fixExtendedProtocolReset()
  // A real option of the client: its default backoff (backoffWithJitter(pingInterval = 3000)) has no
  // ceiling, and reconnectUntilConnected's reconnectNow() every 100 ms counts as attempts, so a gateway
  // down for minutes (the crash test) grew the delay past Node's timer limit, which Node turns into
  // 1 ms: a reconnect loop. The same backoff with a ceiling; the first delays stay the default's.
  cable = createCable(url, { protocol: 'actioncable-v1-ext-json', logLevel: 'error',
    reconnectStrategy: backoffWithJitter(3000, { maxInterval: 30000 }) })
  cable.on('connect', ev => print('connect', ev))
  cable.on('disconnect', err => print('disconnect', { reason: err?.reason ?? null }))
  cable.on('close', err => print('close', { reason: err?.reason ?? null, state: cable.state }))
  const channels = new Map()
  subscribe = params => {
    const { channel: name, ...rest } = params
    const channel = cable.subscribeTo(name, rest)
    const identifier = channel.identifier
    channel.on('connect', ev => print('subscribed', { identifier, ...ev }))
    channel.on('message', (message, meta) => print('received', { identifier, message, meta: meta ?? null }))
    channel.on('info', info => print('info', { identifier, ...info }))
    channel.on('close', err => print(err && err.name === 'SubscriptionRejectedError' ? 'rejected' : 'closed', { identifier }))
    channel.ensureSubscribed().catch(() => {})
    channels.set(JSON.stringify(params), channel)
  }
  unsubscribe = params => channels.get(JSON.stringify(params))?.disconnect()
  // the channel's presence API (@anycable/core >= 1.0): join/leave/info
  presenceCommand = (cmd, params, id, info) => {
    const channel = channels.get(JSON.stringify(params))
    if (cmd === 'join') return channel.presence.join(id, info)
    if (cmd === 'leave') return channel.presence.leave()
    if (cmd !== 'cached') channel.presence.reset() // ask the server, not the client's cache
    return channel.presence.info().then(state => print('presence', { identifier: channel.identifier, state }),
      err => print('presence-error', { message: String(err) }))
  }
} else {
  throw new Error('unknown client ' + kind)
}

function reconnectUntilConnected() {
  if (!cable || cable.state === 'connected') return
  cable.monitor?.reconnectNow()
  setTimeout(reconnectUntilConnected, 100)
}

readline.createInterface({ input: process.stdin }).on('line', line => {
  const space = line.indexOf(' ')
  const cmd = space < 0 ? line : line.slice(0, space)
  const arg = space < 0 ? '' : line.slice(space + 1)
  switch (cmd) {
    case 'subscribe': return subscribe(JSON.parse(arg))
    case 'unsubscribe': return unsubscribe(JSON.parse(arg))
    case 'join': { // join <params json> <id> <info json>
      const [params, id, info] = arg.split(' ')
      return presenceCommand('join', JSON.parse(params), id, JSON.parse(info))
    }
    case 'leave': return presenceCommand('leave', JSON.parse(arg))
    case 'presence': return presenceCommand('info', JSON.parse(arg))
    case 'presence-cached': return presenceCommand('cached', JSON.parse(arg))
    case 'offline': return goOffline()
    case 'online': goOnline(); return reconnectUntilConnected()
    case 'alive': return print('alive', { opened: network.opened })
    case 'exit': return process.exit(0)
    default: print('error', { message: 'unknown command ' + cmd })
  }
}).on('close', () => process.exit(0))

print('ready', { kind, window: typeof window })
