#!/usr/bin/env python3
"""Test and demo RTSP server: Debian's GStreamer RTSP server (through python3-gi) serving H.264
Matroska files, one mount per file. Each client session plays its file from the start; at the
end the session ends, as a camera dropping its stream does (the client reconnects) — unless
--loop is given: then the file plays again and again with timestamps running on, as a live
camera's would (the demo's cameras).

usage: rtsp-server.py --port 18554 [--loop] --mount NAME=/path/to/file.mkv [--mount ...]
"""
import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

SEGMENT = Gst.SeekFlags.SEGMENT


def play_in_a_loop(_factory, media):
    """Segment seeks: with SEGMENT set the demuxer ends the file with SEGMENT_DONE instead of
    EOS, and the next non-flushing seek back to the start opens a new segment whose running
    time continues from the last one's, so RTP timestamps keep rising across the seam. A seek
    the server makes for the client (PLAY with a range) gets SEGMENT added on its way to the
    demuxer."""
    demux = media.get_element().get_by_name("demux")

    def again():
        demux.seek(1.0, Gst.Format.TIME, SEGMENT, Gst.SeekType.SET, 0, Gst.SeekType.NONE, -1)
        return False

    def on_event(_pad, info):
        event = info.get_event()
        if event.type == Gst.EventType.SEGMENT_DONE:
            # Not from the streaming thread that sent it: the seek restarts that thread's task.
            GLib.idle_add(again)
        elif event.type == Gst.EventType.SEEK:
            rate, fmt, flags, start_type, start, stop_type, stop = event.parse_seek()
            if not flags & SEGMENT:
                ok = demux.seek(rate, fmt, flags | SEGMENT, start_type, start, stop_type, stop)
                return Gst.PadProbeReturn.HANDLED if ok else Gst.PadProbeReturn.DROP
        return Gst.PadProbeReturn.OK

    def on_pad(_demux, pad):
        pad.add_probe(Gst.PadProbeType.EVENT_DOWNSTREAM | Gst.PadProbeType.EVENT_UPSTREAM, on_event)

    demux.connect("pad-added", on_pad)
    # The first pass is a segment too, whether or not the client's PLAY asks for a position.
    media.connect("prepared", lambda _m: demux.seek(1.0, Gst.Format.TIME, Gst.SeekFlags.FLUSH | SEGMENT,
                                                    Gst.SeekType.SET, 0, Gst.SeekType.NONE, -1))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--loop", action="store_true", help="play each file forever")
    parser.add_argument("--mount", action="append", default=[], help="NAME=FILE")
    args = parser.parse_args()
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    mounts = server.get_mount_points()
    for spec in args.mount:
        name, _, path = spec.partition("=")
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(
            f'( filesrc location="{path}" ! matroskademux name=demux ! h264parse '
            "! rtph264pay name=pay0 pt=96 config-interval=1 )"
        )
        factory.set_shared(False)
        if args.loop:
            factory.connect("media-configure", play_in_a_loop)
        mounts.add_factory(f"/{name}", factory)
    if server.attach(None) == 0:
        print(f"rtsp-server: cannot listen on 127.0.0.1:{args.port}", file=sys.stderr)
        return 1
    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print(f"rtsp-server: listening on 127.0.0.1:{args.port}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
