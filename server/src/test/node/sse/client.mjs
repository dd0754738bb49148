// The npm `eventsource` package (the WHATWG EventSource for Node) on GET /v1/sse, driven by
// SseEventSourceTest. Usage: node sse/client.mjs <url>   (the token is in the url's query)
// Prints one line per thing it sees: `open`, `<event> <lastEventId> <data>` for each message
// (event `message` for events; welcome, joined, gap, live, close for the gateway's control
// messages), `error <readyState>` when the connection drops (it reconnects on its own with
// Last-Event-ID). stdin: `exit`.
import { EventSource } from 'eventsource'
import readline from 'node:readline'

const [url] = process.argv.slice(2)
const print = line => process.stdout.write(line + '\n')
const es = new EventSource(url)
es.onopen = () => print('open')
es.onerror = () => print('error ' + es.readyState)
const show = name => ev => print(`${name} ${ev.lastEventId || '-'} ${ev.data}`)
es.onmessage = show('message')
for (const name of ['welcome', 'joined', 'gap', 'live', 'close']) es.addEventListener(name, show(name))
readline.createInterface({ input: process.stdin }).on('line', line => {
  if (line === 'exit') { es.close(); process.exit(0) }
})
print('ready')
