// SPDX-License-Identifier: Apache-2.0
// Joins a Janus VideoRoom (?server=URL&room=N), subscribes to every
// publisher with one multistream subscriber (as Janus's mvideoroomtest demo
// does) and shows their videos in a grid laid out like stagecast-capture's
// (capture/mixer_video.c sc_layout_grid), their sound through <audio>.
// Progress goes to console.log (Chromium --enable-logging=stderr).
'use strict';

const params = new URLSearchParams(location.search);
const server = params.get('server');
const room = parseInt(params.get('room'), 10);
let janus = null, pub = null, sub = null, joined = false, pending = [], subscribed = {};
const tiles = {}; // mid -> <video>

function say(s) { console.log('capture: ' + s); }

function even(v) { return v & ~1; }

function tileSize(w, h, cw, ch) {
	let tw = cw;
	if (Math.floor(ch * w / h) < tw)
		tw = Math.floor(ch * w / h);
	tw = even(tw);
	const th = even(Math.floor(tw * h / w));
	return [Math.max(tw, 2), Math.max(th, 2)];
}

function grid(n, w, h) {
	let bestCols = 1, bestTw = -1;
	for (let cols = 1; cols <= n; cols++) {
		const rows = Math.ceil(n / cols);
		const [tw] = tileSize(w, h, Math.floor(w / cols), Math.floor(h / rows));
		if (tw >= bestTw) {
			bestTw = tw;
			bestCols = cols;
		}
	}
	const cols = bestCols, rows = Math.ceil(n / cols);
	const [tw, th] = tileSize(w, h, Math.floor(w / cols), Math.floor(h / rows));
	const y0 = even(Math.floor((h - rows * th) / 2));
	const out = [];
	for (let i = 0; i < n; i++) {
		const r = Math.floor(i / cols), c = i % cols;
		const inRow = r === rows - 1 ? n - r * cols : cols;
		const x0 = even(Math.floor((w - inRow * tw) / 2));
		out.push([x0 + c * tw, y0 + r * th, tw, th]);
	}
	return out;
}

function relayout() {
	const mids = Object.keys(tiles).sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
	const rects = grid(mids.length, window.innerWidth, window.innerHeight);
	mids.forEach((mid, i) => {
		const v = tiles[mid], [x, y, w, h] = rects[i];
		v.style.left = x + 'px';
		v.style.top = y + 'px';
		v.style.width = w + 'px';
		v.style.height = h + 'px';
	});
	say('tiles ' + mids.length);
}

function subscribe(feeds) {
	const streams = feeds.filter(f => !subscribed[f]).map(f => ({ feed: f }));
	if (!streams.length)
		return;
	streams.forEach(s => { subscribed[s.feed] = true; });
	if (!sub) {
		pending = pending.concat(streams);
		return attachSubscriber();
	}
	if (!joined) {
		pending = pending.concat(streams);
		return;
	}
	sub.send({ message: { request: 'subscribe', streams: streams } });
}

function attachSubscriber() {
	if (sub !== null)
		return;
	sub = 'attaching';
	janus.attach({
		plugin: 'janus.plugin.videoroom',
		success: h => {
			sub = h;
			const streams = pending;
			pending = [];
			sub.send({ message: { request: 'join', room: room, ptype: 'subscriber', streams: streams } });
		},
		error: e => say('subscriber attach failed: ' + e),
		onmessage: (msg, jsep) => {
			if (msg.error)
				say('subscriber error: ' + msg.error);
			if (msg.videoroom === 'attached') {
				joined = true;
				if (pending.length) {
					const s = pending;
					pending = [];
					sub.send({ message: { request: 'subscribe', streams: s } });
				}
			}
			if (jsep) {
				sub.createAnswer({
					jsep: jsep,
					tracks: [{ type: 'data' }],
					success: answer => sub.send({ message: { request: 'start', room: room }, jsep: answer }),
					error: e => say('createAnswer failed: ' + JSON.stringify(e)),
				});
			}
		},
		webrtcState: on => say('subscriber PeerConnection ' + (on ? 'up' : 'down')),
		onremotetrack: (track, mid, on) => {
			if (track.kind === 'audio') {
				const id = 'a' + mid;
				let a = document.getElementById(id);
				if (on && !a) {
					a = document.createElement('audio');
					a.id = id;
					a.autoplay = true;
					a.srcObject = new MediaStream([track]);
					document.body.appendChild(a);
					a.play().catch(e => say('audio play: ' + e));
				} else if (!on && a) {
					a.remove();
				}
				return;
			}
			if (on && !tiles[mid]) {
				const v = document.createElement('video');
				v.autoplay = true;
				v.muted = true;
				v.playsInline = true;
				v.srcObject = new MediaStream([track]);
				document.body.appendChild(v);
				v.play().catch(e => say('video play: ' + e));
				tiles[mid] = v;
				relayout();
			} else if (!on && tiles[mid]) {
				tiles[mid].remove();
				delete tiles[mid];
				relayout();
			}
		},
	});
}

function publishers(list) {
	if (list && list.length)
		subscribe(list.map(p => p.id));
}

function start() {
	janus = new Janus({
		server: server,
		success: () => janus.attach({
			plugin: 'janus.plugin.videoroom',
			success: h => {
				pub = h;
				// A participant that never publishes: it learns who does.
				pub.send({ message: { request: 'join', room: room, ptype: 'publisher', display: 'browser-capture' } });
			},
			error: e => say('attach failed: ' + e),
			onmessage: msg => {
				if (msg.error)
					say('room error: ' + msg.error);
				if (msg.videoroom === 'joined' || msg.videoroom === 'event')
					publishers(msg.publishers);
			},
		}),
		error: e => say('Janus session error: ' + e),
		destroyed: () => say('Janus session destroyed'),
	});
}

window.addEventListener('resize', relayout);
Janus.init({ debug: false, callback: start });
