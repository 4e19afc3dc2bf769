#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The conference rig works on its own, without stagecast.

Janus (VideoRoom + HTTP only) in the test's network namespace, three
independent GStreamer webrtcbin publishers (red VP8 440 Hz, green VP8
660 Hz, blue H.264 880 Hz), and an independent webrtcbin subscriber that
checks each feed's colour and tone. Then one publisher leaves and Janus's
participant list drops it, and a flash+beep publisher shows its flashes and
beeps line up. Root only (network namespace): exit 77 otherwise.
"""

import conference as c
import harness as h

FEEDS = [
    ('red', 0xff0000, 440, 'vp8'),
    ('green', 0x00ff00, 660, 'vp8'),
    ('blue', 0x0000ff, 880, 'h264'),
]


def main(t):
    conf = c.Conference(t, room=1234, publishers=9).start()
    pubs = [conf.add_publisher(name, color=rgb, tone=hz, codec=codec)
            for name, rgb, hz, codec in FEEDS]
    listed = conf.publisher_ids()
    for p in pubs:
        t.equal(listed.get(p.id), p.name, 'Janus lists publisher %s' % p.name)

    for p in pubs:
        r = conf.subscribe(p.id, seconds=2, name='sub-%s' % p.name)
        h.log('%s: %s' % (p.name, {k: r[k] for k in ('rgb', 'fps', 'width', 'height',
                                                       'video_codec', 'audio_freq')}))
        t.equal(r['video_codec'], p.codec.upper(), '%s codec' % p.name)
        t.equal((r['width'], r['height']), (640, 360), '%s size' % p.name)
        t.check(c.rgb_close(r['rgb'], p.color), '%s colour is #%06x' % (p.name, p.color),
                r['rgb'])
        t.check(r['fps'] >= 10, '%s frame rate (%s fps)' % (p.name, r['fps']))
        t.check(abs(r['audio_freq'] - p.tone) <= 0.03 * p.tone,
                '%s tone is %g Hz' % (p.name, p.tone), r['audio_freq'])

    leaver = pubs[1]
    t.equal(leaver.stop(), 0, 'publisher %s exits 0 after SIGTERM' % leaver.name)
    conf.wait_gone(leaver, timeout=5)
    left = conf.publisher_ids()
    t.check(leaver.id not in left and len(left) == 2, 'the others stay', left)

    flash = conf.add_publisher('flash', codec='vp8', fps=30, mode='flash')
    r = conf.subscribe(flash.id, seconds=4, name='sub-flash')
    h.log('flash: flashes %s beeps %s offset %s ms'
          % (r['flashes'], r['beeps'], r['av_offset_ms']))
    t.check(len(r['flashes']) >= 3 and len(r['beeps']) >= 3, 'flashes and beeps seen', r)
    t.check(r['av_offset_ms'] is not None and abs(r['av_offset_ms']) <= 45,
            'flash and beep together (%s ms) through Janus' % r['av_offset_ms'])

    h.log('timings: janus %.2f s; publishers ready in %s s'
          % (conf.started_in, ', '.join('%.2f' % p.ready_in for p in pubs + [flash])))
    t.equal(conf.stop(), 0, 'Janus exit code after SIGTERM')


if __name__ == '__main__':
    h.run(main)
