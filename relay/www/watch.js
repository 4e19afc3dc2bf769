/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stagecast widget page, served by stagecast-relay at /watch/NAME.
 *
 * Plays ../hls/NAME/index.m3u8 with hls.js in low-latency mode, starts muted
 * (browsers refuse unmuted autoplay) with a mute toggle, shows a LIVE/OFFLINE
 * badge and comes back by itself: it asks ../v1/streams/NAME every 2 s
 * (404 or live:false means offline), starts a player when the stream is live,
 * drops it when the stream goes away, and replaces it with backoff after a
 * fatal hls.js error or a stall. Every URL is derived from the page's own
 * location, so the page makes no request outside the relay's origin and
 * works behind a path prefix.
 *
 * window.__stagecast exposes the state for tests and for debugging.
 */
(function () {
	'use strict';

	var POLL_MS = 2000;
	var API_TIMEOUT_MS = 5000;
	var RETRY_MIN_MS = 1000;
	var RETRY_MAX_MS = 16000;
	var STALL_MS = 12000;

	var video = document.getElementById('video');
	var playerEl = document.getElementById('player');
	var badge = document.getElementById('badge');
	var titleEl = document.getElementById('title');
	var message = document.getElementById('message');
	var muteBtn = document.getElementById('mute');
	var muteLabel = document.getElementById('mute-label');
	var playBtn = document.getElementById('play');

	/* "/prefix/watch/NAME" -> {prefix: "/prefix/", name: "NAME"} */
	function parseLocation() {
		var path = location.pathname;
		var i = path.lastIndexOf('/watch/');
		if (i < 0)
			return null;
		var rest = path.slice(i + 7).replace(/\/+$/, '');
		if (!rest || rest.indexOf('/') >= 0)
			return null;
		var name;
		try {
			name = decodeURIComponent(rest);
		} catch (e) {
			return null;
		}
		return { prefix: path.slice(0, i + 1), name: name };
	}

	var loc = parseLocation();
	var params = new URLSearchParams(location.search);
	var name = loc ? loc.name : '';
	var title = params.get('title') || name || 'stagecast';
	var enc = encodeURIComponent(name);
	var hlsUrl = loc ? loc.prefix + 'hls/' + enc + '/index.m3u8' : '';
	var apiUrl = loc ? loc.prefix + 'v1/streams/' + enc : '';

	var sc = {
		state: 'offline', /* 'offline' | 'live' */
		name: name,
		title: title,
		engine: null, /* 'hls.js' | 'native' | null while no player runs */
		playing: false, /* currentTime advanced since the last check */
		starts: 0, /* players created */
		fatalErrors: 0,
		stalls: 0,
		lastError: null,
		apiStatus: null, /* HTTP status of the last /v1 poll, 0 on network error */
		publisherSince: null
	};
	window.__stagecast = sc;

	var hls = null;
	var running = false;
	var retryDelay = RETRY_MIN_MS;
	var retryAt = 0;
	var lastTime = -1;
	var lastProgress = 0;
	var mediaRecovered = false;

	document.title = title;
	titleEl.textContent = title;

	function setState(state, text) {
		sc.state = state;
		playerEl.className = state;
		badge.textContent = state === 'live' ? 'LIVE' : 'OFFLINE';
		message.textContent = text || '';
	}

	function updateMute() {
		var muted = video.muted;
		muteBtn.setAttribute('aria-pressed', muted ? 'true' : 'false');
		muteBtn.title = muted ? 'Unmute' : 'Mute';
		muteLabel.textContent = muted ? 'Unmute' : 'Mute';
	}

	function play() {
		var p;
		try {
			p = video.play();
		} catch (e) {
			return;
		}
		if (!p || !p.then)
			return;
		p.then(function () {
			playBtn.hidden = true;
		}, function (err) {
			if (!err || err.name !== 'NotAllowedError')
				return;
			if (!video.muted) {
				/* Unmuted autoplay refused: fall back to muted. */
				video.muted = true;
				play();
				return;
			}
			playBtn.hidden = false;
		});
	}

	function stopPlayer() {
		if (hls) {
			hls.destroy();
			hls = null;
			sc.hls = null;
		}
		if (running) {
			video.removeAttribute('src');
			video.load();
		}
		running = false;
		sc.engine = null;
		sc.playing = false;
		lastTime = -1;
		mediaRecovered = false;
	}

	/* A player failed: drop it and let the poll loop start another later. */
	function fail(what) {
		sc.fatalErrors++;
		sc.lastError = what;
		stopPlayer();
		retryAt = Date.now() + retryDelay;
		retryDelay = Math.min(retryDelay * 2, RETRY_MAX_MS);
		if (sc.state === 'live')
			message.textContent = 'Reconnecting\u2026';
	}

	function startPlayer() {
		stopPlayer();
		sc.starts++;
		lastProgress = Date.now();
		if (window.Hls && window.Hls.isSupported()) {
			var H = window.Hls;
			hls = new H({
				lowLatencyMode: true,
				enableWorker: true,
				backBufferLength: 30,
				liveDurationInfinity: true
			});
			hls.on(H.Events.MANIFEST_PARSED, play);
			hls.on(H.Events.ERROR, function (ev, data) {
				if (!data || !data.fatal)
					return;
				if (data.type === H.ErrorTypes.MEDIA_ERROR && !mediaRecovered) {
					mediaRecovered = true;
					hls.recoverMediaError();
					return;
				}
				fail(data.type + ': ' + data.details);
			});
			hls.attachMedia(video);
			hls.loadSource(hlsUrl);
			sc.engine = 'hls.js';
			sc.hls = hls; /* for tests and debugging: latency, levels */
		} else if (video.canPlayType('application/vnd.apple.mpegurl')) {
			video.src = hlsUrl;
			play();
			sc.engine = 'native';
		} else {
			sc.lastError = 'no HLS support';
			message.textContent = 'This browser cannot play HLS.';
			return;
		}
		running = true;
	}

	/* Detects a player that runs but shows nothing new. */
	function checkProgress() {
		if (!running)
			return;
		var now = Date.now();
		var t = video.currentTime;
		if (t !== lastTime && !video.paused) {
			sc.playing = lastTime >= 0;
			lastTime = t;
			lastProgress = now;
			if (sc.playing)
				retryDelay = RETRY_MIN_MS;
			return;
		}
		sc.playing = false;
		if (!video.paused && now - lastProgress > STALL_MS) {
			sc.stalls++;
			fail('stalled');
		}
	}

	/*
	 * Calls done(live, info). live is true, false, or null when the API
	 * could not say (then the page tries the playlist directly).
	 */
	function queryStream(done) {
		var ctl = window.AbortController ? new AbortController() : null;
		var timer = setTimeout(function () {
			if (ctl)
				ctl.abort();
		}, API_TIMEOUT_MS);
		fetch(apiUrl, {
			cache: 'no-store',
			credentials: 'same-origin',
			signal: ctl ? ctl.signal : undefined
		}).then(function (res) {
			sc.apiStatus = res.status;
			if (res.status === 404)
				return { live: false };
			if (!res.ok)
				return null;
			return res.json();
		}).then(function (info) {
			clearTimeout(timer);
			if (!info)
				done(null, null);
			else
				done(info.live === true, info);
		}, function () {
			clearTimeout(timer);
			sc.apiStatus = 0;
			done(null, null);
		});
	}

	function tick() {
		queryStream(function (live, info) {
			var since = info && info.publisher ? info.publisher.since : null;
			if (live === false) {
				stopPlayer();
				retryDelay = RETRY_MIN_MS;
				retryAt = 0;
				sc.publisherSince = null;
				setState('offline', 'Stream offline. Waiting for it to start\u2026');
			} else {
				if (live && running && since !== null && sc.publisherSince !== null &&
				    since !== sc.publisherSince)
					stopPlayer(); /* a new publisher took over: start clean */
				if (since !== null)
					sc.publisherSince = since;
				checkProgress();
				if (!running && Date.now() >= retryAt)
					startPlayer();
				/* Without an answer from the API only playback says live. */
				if ((live || sc.playing) && sc.state !== 'live')
					setState('live', 'Connecting\u2026');
				if (sc.playing)
					message.textContent = '';
				else if (live === null && sc.state !== 'live')
					message.textContent = 'Connecting\u2026';
			}
			setTimeout(tick, POLL_MS);
		});
	}

	muteBtn.addEventListener('click', function () {
		video.muted = !video.muted;
		if (!video.muted && video.paused && running)
			play();
	});
	playBtn.addEventListener('click', function () {
		playBtn.hidden = true;
		play();
	});
	video.addEventListener('volumechange', updateMute);
	video.addEventListener('playing', function () {
		playBtn.hidden = true;
		if (sc.state === 'live')
			message.textContent = '';
	});

	video.muted = true;
	updateMute();
	if (!loc) {
		setState('offline', 'No stream name in the address (expected /watch/NAME).');
		return;
	}
	setState('offline', 'Waiting for the stream\u2026');
	tick();
})();
