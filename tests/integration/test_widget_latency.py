#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""How far behind live the widget plays, in headless Chromium.

hls.js's own estimate: the page's Hls instance is caught as watch.js
creates it (a Proxy around window.Hls installed before any page script
runs; watch.js does not expose the instance) and its `latency` (distance
from the estimated live edge) and `targetLatency` are read while it plays.
With LL-HLS it must target the part hold-back (not 3 target durations) and
play at most 5 s behind.

Glass to glass, roughly: the publisher draws its wall clock into each
frame as a 12-bit barcode (50 ms steps; drawbox, no fonts needed), the
page grabs the displayed frame on a canvas and the test compares the
barcode with the browser's clock.
"""

import statistics
import time

import cdp
import harness as h

NAME = 'k1-latency'
BITS = 12
STEP = 0.05  # seconds per barcode unit
BOX_X0, BOX_DX, BOX_W, BOX_Y, BOX_H = 20, 48, 40, 4, 32

# Catches the Hls instance watch.js creates (and any later one).
HOOK_JS = '''(() => {
	let H;
	Object.defineProperty(window, 'Hls', {
		configurable: true,
		get() { return H; },
		set(v) {
			H = typeof v !== 'function' ? v : new Proxy(v, {
				construct(target, args, nt) {
					const o = Reflect.construct(target, args, nt);
					window.__scHls = o;
					return o;
				}
			});
		}
	});
})();'''

LATENCY_JS = '''(() => {
	const hls = window.__scHls, v = document.getElementById('video');
	if (!hls || !v)
		return null;
	return { latency: hls.latency, target: hls.targetLatency, sync: hls.liveSyncPosition,
		 time: v.currentTime, drift: hls.drift, lowLatency: hls.config.lowLatencyMode };
})()'''

# Reads the barcode of the displayed frame: [now (ms), bits (0/1), sync luma, gap luma].
BARCODE_JS = '''(() => {
	const v = document.getElementById('video');
	if (!v || v.videoWidth !== 640)
		return null;
	const c = document.createElement('canvas');
	c.width = 640;
	c.height = 40;
	const g = c.getContext('2d');
	g.drawImage(v, 0, 0, 640, 40, 0, 0, 640, 40);
	const now = Date.now();
	const luma = (x, y) => {
		const d = g.getImageData(x - 6, y - 6, 12, 12).data;
		let s = 0;
		for (let i = 0; i < d.length; i += 4)
			s += (d[i] + d[i + 1] + d[i + 2]) / 3;
		return s / (d.length / 4);
	};
	const bits = [];
	for (let i = 0; i < %(bits)d; i++)
		bits.push(luma(%(x0)d + i * %(dx)d + %(w)d / 2, %(y)d + %(h)d / 2));
	return [now, bits, luma(%(x0)d + %(bits)d * %(dx)d + %(w)d / 2, %(y)d + %(h)d / 2),
		luma(%(x0)d + %(w)d + (%(dx)d - %(w)d) / 2, %(y)d + %(h)d / 2)];
})()''' % {'bits': BITS, 'x0': BOX_X0, 'dx': BOX_DX, 'w': BOX_W, 'y': BOX_Y, 'h': BOX_H}


def clock_filter(ref_us):
    """-vf drawing (wall clock - ref) in STEP units as white boxes on a black bar."""
    f = ['settb=1/1000',
         # frame N leaves -re at about RTCSTART + N/25: stamp it with that time
         'setpts=N/(25*TB)+(RTCSTART-%d)/(1000000*TB)' % ref_us,
         'drawbox=x=0:y=0:w=640:h=%d:color=black:t=fill' % (BOX_Y * 2 + BOX_H)]
    for i in range(BITS):
        f.append("drawbox=x=%d:y=%d:w=%d:h=%d:color=white:t=fill:enable='mod(floor(t/%g/%d),2)'"
                 % (BOX_X0 + i * BOX_DX, BOX_Y, BOX_W, BOX_H, STEP, 1 << i))
    f.append('drawbox=x=%d:y=%d:w=%d:h=%d:color=white:t=fill'
             % (BOX_X0 + BITS * BOX_DX, BOX_Y, BOX_W, BOX_H))  # sync box, always on
    return ','.join(f)


def read_clock(chrome, ref):
    """Glass-to-glass delay (s) of the displayed frame, or None if unreadable."""
    r = chrome.evaluate(BARCODE_JS)
    if not r:
        return None
    now_ms, bits, sync, gap = r
    if sync < 160 or gap > 80 or any(60 < b < 190 for b in bits):
        return None  # not a clean frame (scaling, a frame being replaced...)
    code = sum(1 << i for i, b in enumerate(bits) if b >= 190)
    return now_ms / 1000.0 - ref - code * STEP


def main(t):
    chrome = cdp.Chromium(t)
    relay = h.Relay(t).start()
    ref = time.time()
    pub = h.ffmpeg_publish(t, relay.rtmp(NAME),
                           extra=['-vf', clock_filter(int(ref * 1e6))])
    pub.must_live = True
    relay.wait_live(NAME)
    relay.wait_segments(NAME, 2, 30)
    pl = relay.playlist(NAME)
    h.log('playlist: PART-TARGET %s, SERVER-CONTROL %s' % (pl['part_target'],
                                                           pl['server_control']))

    chrome.start()
    chrome.call('Page.addScriptToEvaluateOnNewDocument', {'source': HOOK_JS})
    chrome.navigate(relay.url('/watch/%s' % NAME))
    t.wait("__stagecast.state == 'live'",
           lambda: chrome.evaluate('window.__stagecast && window.__stagecast.state') == 'live',
           20)
    t.wait('hls.js instance caught', lambda: chrome.evaluate('!!window.__scHls'), 20)
    t.wait('video plays', lambda: chrome.evaluate('window.__stagecast.playing') and
           chrome.evaluate('document.getElementById("video").currentTime') > 1, 30, 0.5)
    time.sleep(4)  # let hls.js settle on its target latency

    lat, g2g, samples = [], [], []
    for _ in range(24):
        s = chrome.evaluate(LATENCY_JS)
        samples.append(s)
        if s and s['latency'] > 0:
            lat.append(s['latency'])
        d = read_clock(chrome, ref)
        if d is not None:
            g2g.append(d)
        time.sleep(0.5)
    h.log('hls.js: %s' % samples[-1])
    h.log('hls.js latency samples: %s' % ' '.join('%.2f' % x for x in lat))
    h.log('glass-to-glass samples: %s' % ' '.join('%.2f' % x for x in g2g))
    chrome.screenshot(t.path('latency.png'))

    t.check(samples[-1] and samples[-1]['lowLatency'] is True, 'hls.js in low-latency mode',
            samples[-1])
    target = samples[-1]['target']
    t.check(target is not None and 0.5 <= target <= 4,
            'hls.js target latency %s s comes from the LL-HLS part hold-back' % target,
            samples[-1])
    t.check(len(lat) >= 12, 'hls.js latency readable (%d of 24 samples)' % len(lat))
    med = statistics.median(lat)
    t.check(0.3 <= med <= 5.0, 'hls.js: playback %.2f s behind live (median; at most 5 s)' % med,
            lat)
    t.check(len(g2g) >= 6, 'barcode clock readable on %d of 24 frames grabbed' % len(g2g))
    med_g = statistics.median(g2g)
    t.check(0.0 < med_g <= 6.0, 'glass to glass %.2f s (median; 0 < g2g <= 6 s)' % med_g, g2g)
    h.log('summary: hls.js latency %.2f s (target %.2f), glass to glass %.2f s'
          % (med, target, med_g))

    errors = [c for c in chrome.console() if 'exception' in c.lower()]
    t.check(not errors, 'no uncaught exceptions in the page', errors)
    chrome.stop()
    pub.must_live = False
    pub.stop()
    t.equal(relay.stop(), 0, 'relay exit code after SIGTERM')


if __name__ == '__main__':
    h.run(main)
