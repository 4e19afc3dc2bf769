#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The widget page in a real browser: headless Chromium opens /watch/NAME.

Checks: the page plays (video.currentTime advances, the picture is the test
pattern, not black), starts muted and unmutes on a real click, shows LIVE,
loads nothing from outside the relay's origin, goes OFFLINE when the
publisher stops and comes back LIVE and playing by itself when it returns.
"""

import time

import cdp
import harness as h

NAME = 'widget'
TITLE = 'Room K.1'

FRAME_LUMA_JS = '''(() => {
	const v = document.getElementById('video');
	if (!v || !v.videoWidth)
		return -1;
	const c = document.createElement('canvas');
	c.width = 64;
	c.height = 36;
	const g = c.getContext('2d');
	g.drawImage(v, 0, 0, 64, 36);
	const d = g.getImageData(0, 0, 64, 36).data;
	let s = 0;
	for (let i = 0; i < d.length; i += 4)
		s += (d[i] + d[i + 1] + d[i + 2]) / 3;
	return s / (d.length / 4);
})()'''

STATE_JS = 'window.__stagecast ? window.__stagecast.state : null'
TIME_JS = 'document.getElementById("video").currentTime'


def click(chrome, selector):
    """A real mouse click (a user gesture, unlike element.click())."""
    rect = chrome.evaluate('(() => { const r = document.querySelector(%r)'
                           '.getBoundingClientRect(); return [r.x + r.width / 2, '
                           'r.y + r.height / 2]; })()' % selector)
    for kind in ('mousePressed', 'mouseReleased'):
        chrome.call('Input.dispatchMouseEvent', {'type': kind, 'x': rect[0], 'y': rect[1],
                                                 'button': 'left', 'clickCount': 1})


def playing_for(t, chrome, seconds, what):
    """Checks that currentTime advances by most of `seconds` in `seconds`."""
    t.wait('%s: video starts' % what, lambda: chrome.evaluate(TIME_JS) > 0.2, 25)
    start = chrome.evaluate(TIME_JS)
    time.sleep(seconds)
    end = chrome.evaluate(TIME_JS)
    t.check(end - start >= seconds * 0.6,
            '%s: currentTime advanced %.1f s in %d s' % (what, end - start, seconds),
            (start, end))


def not_black(t, chrome, what):
    luma = chrome.evaluate(FRAME_LUMA_JS)
    t.check(luma > 30, '%s: frame drawn on a canvas is not black (mean %.0f)' % (what, luma),
            luma)


def main(t):
    chrome = cdp.Chromium(t)
    relay = h.Relay(t).start()
    origin = relay.url('')

    pub = h.ffmpeg_publish(t, relay.rtmp(NAME))
    pub.must_live = True
    relay.wait_live(NAME)
    relay.wait_segments(NAME, 1, 30)

    page = '/watch/%s?title=%s' % (NAME, TITLE.replace(' ', '%20'))
    r = relay.get(page)
    t.equal(r.status, 200, 'GET %s status' % page)
    t.check('text/html' in r.headers.get('Content-Type', ''), 'widget page is text/html',
            r.headers.get('Content-Type'))
    for asset in ('hls.min.js', 'watch.js', 'watch.css'):
        r = relay.get('/assets/' + asset)
        t.equal(r.status, 200, 'GET /assets/%s status' % asset)

    chrome.start()
    chrome.navigate(relay.url(page))
    t.equal(chrome.evaluate('document.title'), TITLE, 'page title from ?title=')

    t.wait("__stagecast.state == 'live'", lambda: chrome.evaluate(STATE_JS) == 'live', 20)
    t.equal(chrome.evaluate('document.getElementById("badge").textContent'), 'LIVE',
            'badge text')
    t.equal(chrome.evaluate('window.__stagecast.engine'), 'hls.js', 'player engine')
    playing_for(t, chrome, 5, 'first publish')
    t.equal(chrome.evaluate('[document.getElementById("video").videoWidth, '
                            'document.getElementById("video").videoHeight]'),
            [640, 360], 'decoded video size')
    t.check(chrome.evaluate('document.getElementById("video").muted') is True,
            'autoplay started muted')
    not_black(t, chrome, 'first publish')
    chrome.screenshot(t.path('widget-live.png'))

    click(chrome, '#mute')
    t.wait('mute button unmutes', lambda: chrome.evaluate(
        'document.getElementById("video").muted') is False, 5)
    time.sleep(1)
    t.check(chrome.evaluate('document.getElementById("video").paused') is False,
            'still playing after unmute')
    click(chrome, '#mute')
    t.wait('mute button mutes again', lambda: chrome.evaluate(
        'document.getElementById("video").muted') is True, 5)

    urls = chrome.requested_urls()
    outside = [u for u in urls if not (u.startswith(origin + '/') or u.startswith('blob:')
                                       or u.startswith('data:'))]
    t.check(urls and not outside, 'all %d requests stay on %s' % (len(urls), origin), outside)

    starts = chrome.evaluate('window.__stagecast.starts')
    pub.must_live = False
    pub.stop()
    t.wait("publisher gone: state goes 'offline'",
           lambda: chrome.evaluate(STATE_JS) == 'offline', 20)
    t.equal(chrome.evaluate('document.getElementById("badge").textContent'), 'OFFLINE',
            'badge text')

    pub2 = h.ffmpeg_publish(t, relay.rtmp(NAME), name='publisher2')
    pub2.must_live = True
    t.wait("publisher back: state goes 'live' again",
           lambda: chrome.evaluate(STATE_JS) == 'live', 20)
    t.wait('playback resumes by itself with a new player',
           lambda: chrome.evaluate('window.__stagecast.playing && '
                                   'window.__stagecast.starts > %d' % starts), 30, 0.5)
    playing_for(t, chrome, 3, 'second publish')
    not_black(t, chrome, 'second publish')

    errors = [c for c in chrome.console() if 'exception' in c.lower()]
    t.check(not errors, 'no uncaught exceptions in the page', errors)
    chrome.stop()
    pub2.must_live = False
    pub2.stop()
    t.equal(relay.stop(), 0, 'relay exit code after SIGTERM')


if __name__ == '__main__':
    h.run(main)
