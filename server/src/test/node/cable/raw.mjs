// A bare WebSocket for exact-frame tests:
//   node cable/raw.mjs <ws url> <subprotocols, comma-separated, or -> [cookie header] [X-ANYCABLE-RESTORE-SID header]
// Prints `open <negotiated subprotocol>`, `frame <text>` per message, `close <code> <reason>`,
// `error <message>`; every stdin line is sent as one text frame ("exit" ends the script).
import readline from 'node:readline'
import WS from 'ws'

const [url, protocols, cookie, restoreSid] = process.argv.slice(2)
const offered = protocols && protocols !== '-' ? protocols.split(',') : []
const headers = {}
if (cookie) headers.Cookie = cookie
if (restoreSid) headers['X-ANYCABLE-RESTORE-SID'] = restoreSid
const ws = new WS(url, offered, { headers })
const out = line => process.stdout.write(line + '\n')
ws.on('open', () => out('open ' + ws.protocol))
ws.on('message', data => out('frame ' + data.toString()))
ws.on('close', (code, reason) => { out('close ' + code + ' ' + reason.toString()); process.exit(0) })
ws.on('error', e => out('error ' + e.message))
readline.createInterface({ input: process.stdin }).on('line', line => {
  if (line === 'exit') process.exit(0)
  ws.send(line)
})
