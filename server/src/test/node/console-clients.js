// Real native-protocol WebSocket clients for the console's browser test: one per line of the tokens
// file ("sub room token"). Each joins its room; when the gateway closes it with 1001 (an operator's
// disconnect, a restart) it reconnects and resumes after the last offset it saw, then prints
// "resumed <sub>". Prints "ready <n>" once every client has joined. Stops on stdin "exit".
const WebSocket = require('ws');
const fs = require('fs');

const [base, tokensFile] = process.argv.slice(2);
const specs = fs.readFileSync(tokensFile, 'utf8').trim().split('\n').map((l) => l.split(' '));
let joined = 0;
let stopping = false;

function connect(sub, room, token, after, resuming) {
  const ws = new WebSocket(`${base}/v1/ws?token=${encodeURIComponent(token)}`);
  let last = after;
  ws.on('message', (raw) => {
    const f = JSON.parse(raw.toString());
    if (f.op === 'welcome') {
      ws.send(JSON.stringify(last ? { op: 'join', room, after: last } : { op: 'join', room }));
    } else if (f.op === 'joined') {
      if (resuming) console.log('resumed ' + sub);
      else if (++joined === specs.length) console.log('ready ' + joined);
    } else if (f.op === 'event') {
      last = f.offset;
    }
  });
  ws.on('close', (code) => {
    if (!stopping && code === 1001) setTimeout(() => connect(sub, room, token, last, true), 100);
  });
  ws.on('error', (e) => console.error(sub + ': ' + e.message));
}

specs.forEach(([sub, room, token], i) => setTimeout(() => connect(sub, room, token, null, false), Math.floor(i / 50) * 20));
process.stdin.on('data', (d) => { if (d.toString().includes('exit')) { stopping = true; process.exit(0); } });
