#!/usr/bin/env python3
"""Test and demo RTSP server: Debian's GStreamer RTSP server (through python3-gi) serving H.264
Matroska files, one mount per file. Each client session plays its file from the start; at the
end the session ends, as a camera dropping its stream does (the client reconnects).

usage: rtsp-server.py --port 18554 --mount NAME=/path/to/file.mkv [--mount ...]
"""
import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
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
            f'( filesrc location="{path}" ! matroskademux ! h264parse '
            "! rtph264pay name=pay0 pt=96 config-interval=1 )"
        )
        factory.set_shared(False)
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
