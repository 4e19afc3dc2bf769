// SPDX-License-Identifier: Apache-2.0
// janus-whep-server in front of the test Janus's Streaming plugin, for
// tests/integration/test_signaling_whep.py:
//   node server.mjs ws://JANUS:WSPORT HTTP_PORT TOKEN
// Serves POST /whep/endpoint/stage (mountpoint 1, Bearer TOKEN) and prints
// one JSON line per event (ready, new-subscriber, subscriber-gone).
import { JanusWhepServer } from 'janus-whep-server';

const [janus, port, token] = process.argv.slice(2);
const server = new JanusWhepServer({
	janus: { address: janus },
	rest: { port: parseInt(port, 10), basePath: '/whep' },
});
const say = (o) => console.log(JSON.stringify(o));
server.on('new-subscriber', (id) => say({ event: 'new-subscriber', id }));
server.on('subscriber-gone', (id) => say({ event: 'subscriber-gone', id }));
await server.start();
server.createEndpoint({ id: 'stage', mountpoint: 1, token });
say({ event: 'ready' });
