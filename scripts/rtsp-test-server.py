#!/usr/bin/python3
"""RTSP test server: serves MP4 (H.264) files as RTSP mounts, like street cameras, without re-encoding.

    rtsp-test-server.py --port 8554 [--host 127.0.0.1] --mount /cam1=/path/a.mp4 [--mount /cam2=/path/b.mp4]
                        [--loop] [--watch-stdin]

One shared pipeline per mount (every client sees the same stream, as from one camera), never rewound by a client's
PLAY; with --loop the file repeats forever with continuous timestamps. --watch-stdin: exit when stdin closes (the
parent that holds the pipe died).

Prints `READY rtsp://HOST:PORT` on stdout once it listens. Exits 0 on SIGTERM/SIGINT, 2 on bad arguments or unusable
files, 3 when it cannot listen. Run it through rtsp-test-server.sh: GStreamer's `gi` bindings only exist for Debian's
/usr/bin/python3.
"""

import argparse
import os
import signal
import socket
import sys

try:
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtsp", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtsp, GstRtspServer

    # Before any class below is defined: subclassing RTSPMedia registers a GType whose signals need GStreamer's types.
    Gst.init(None)
except (ImportError, ValueError) as err:
    sys.stderr.write(
        f"rtsp-test-server: GStreamer Python bindings are missing ({err}); install the Debian packages "
        "python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good "
        "gstreamer1.0-plugins-bad and run with /usr/bin/python3\n"
    )
    sys.exit(2)

# Demux, parse, payload: the file's H.264 goes out as recorded, so what the pipeline under test receives is bit-exact
# what the clip holds (GOP, profile, no B-frames) and the server costs almost no CPU per camera.
# config-interval=1 repeats SPS/PPS every second, as cameras do, so a client that joins mid-stream can decode.
LAUNCH = (
    "( filesrc name=src location={location} ! qtdemux name=demux demux.video_0 ! h264parse name=parse "
    "! rtph264pay name=pay0 pt=96 config-interval=1 )"
)

PREFLIGHT_TIMEOUT_S = 10


def log(msg):
    sys.stderr.write(f"rtsp-test-server: {msg}\n")
    sys.stderr.flush()


def parse_args(argv):
    p = argparse.ArgumentParser(prog="rtsp-test-server", description="Serve MP4 H.264 files over RTSP.")
    p.add_argument("--port", type=int, required=True, help="TCP port for RTSP (1-65535; 0 is not supported)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--mount", action="append", default=[], metavar="/NAME=FILE.mp4", help="a mount point and its file; repeatable"
    )
    p.add_argument("--loop", action="store_true", help="play each file in a loop forever, like a live camera")
    p.add_argument(
        "--watch-stdin",
        action="store_true",
        help="exit when stdin reaches end of file: a parent that holds our stdin pipe died without stopping us",
    )
    args = p.parse_args(argv)
    if not 1 <= args.port <= 65535:
        p.error(f"--port must be 1-65535 (GStreamer cannot report the port it would pick for 0), got {args.port}")
    if not args.mount:
        p.error("at least one --mount /NAME=FILE.mp4 is required")
    mounts = {}
    for spec in args.mount:
        name, sep, path = spec.partition("=")
        if not sep or not name.startswith("/") or len(name) < 2 or not path:
            p.error(f"bad --mount '{spec}': expected /NAME=FILE.mp4")
        if name in mounts:
            p.error(f"mount {name} given twice")
        mounts[name] = os.path.abspath(path)
    args.mounts = mounts
    return args


def preflight(mount, path):
    """Fails fast with a readable reason instead of letting each RTSP client get a bare 503 later."""
    if not os.path.isfile(path):
        return f"mount {mount}: file not found: {path}"
    if not os.access(path, os.R_OK):
        return f"mount {mount}: file not readable: {path}"
    # Prerolling the same demux/parse chain the mount will use proves the file is an MP4 with an H.264 track.
    pipeline = Gst.parse_launch(
        f"filesrc location={quote(path)} ! qtdemux name=demux demux.video_0 ! h264parse ! fakesink"
    )
    try:
        pipeline.set_state(Gst.State.PAUSED)
        msg = pipeline.get_bus().timed_pop_filtered(
            PREFLIGHT_TIMEOUT_S * Gst.SECOND, Gst.MessageType.ASYNC_DONE | Gst.MessageType.ERROR
        )
        if msg is None:
            return f"mount {mount}: {path} did not preroll within {PREFLIGHT_TIMEOUT_S}s"
        if msg.type == Gst.MessageType.ERROR:
            err, _dbg = msg.parse_error()
            return f"mount {mount}: {path} is not a playable MP4 with an H.264 video track ({err.message})"
        return None
    finally:
        pipeline.set_state(Gst.State.NULL)


def quote(path):
    # gst-launch syntax: a double-quoted string with backslash escapes keeps spaces and '!' in paths intact.
    return '"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"'


class EndlessMedia(GstRtspServer.RTSPMedia):
    """A media whose stream has no end: the SDP and PLAY replies announce `npt=0-` instead of the file's length."""

    def do_query_stop(self, *_stop):
        return False


class CameraFeed:
    """Makes one mount's media pipeline behave like a camera's stream: shared, never rewound, optionally endless.

    Not seekable: the media refuses SEEKING queries, so rtsp-media never seeks the shared pipeline. Otherwise each
    new client's `PLAY Range: npt=0-` rewinds the stream under the clients already watching.

    Looping: the demuxer's EOS is swallowed before any other pad sees it (a pad that got EOS refuses data until a
    flush), and the demuxer alone gets a flushing seek back to 0, which restarts it reliably. Its FLUSH_START and
    FLUSH_STOP are swallowed too, so the parser, payloader and RTSP sinks never learn of the seek, and the demuxer's
    source pad gets an offset equal to the playing time already sent. Running time, and so RTP timestamps, keep
    counting up across loops with no jump back to 0, which a `-c copy` recorder downstream would choke on.
    """

    def __init__(self, mount, element, loop):
        self.mount = mount
        self.loop = loop
        self.demux = element.get_by_name("demux")
        self.loops = 0
        self.offset = 0  # running time played by earlier loops, ns
        self.loop_end = 0  # end (pts + duration) of the latest buffer of this loop, ns
        self.rewinding = False
        self.closed = False
        self.pad = None
        self.demux.connect("pad-added", self.on_pad_added)

    def on_pad_added(self, _demux, pad):
        if not pad.get_name().startswith("video") or self.pad is not None:
            return
        self.pad = pad
        pad.add_probe(Gst.PadProbeType.QUERY_UPSTREAM, self.on_query)
        if self.loop:
            pad.add_probe(Gst.PadProbeType.EVENT_DOWNSTREAM | Gst.PadProbeType.EVENT_FLUSH, self.on_event)
            pad.add_probe(Gst.PadProbeType.BUFFER, self.on_buffer)

    def on_query(self, _pad, info):
        # Refused rather than answered "not seekable": PyGObject hands probes a query they cannot write. A refused
        # query is enough for rtsp-media to treat the media as not seekable.
        query = info.get_query()
        if query is not None and query.type == Gst.QueryType.SEEKING:
            return Gst.PadProbeReturn.DROP
        return Gst.PadProbeReturn.OK

    def on_buffer(self, _pad, info):
        buf = info.get_buffer()
        ts = buf.pts if buf.pts != Gst.CLOCK_TIME_NONE else buf.dts
        if ts != Gst.CLOCK_TIME_NONE:
            dur = buf.duration if buf.duration != Gst.CLOCK_TIME_NONE else 0
            self.loop_end = max(self.loop_end, ts + dur)
        return Gst.PadProbeReturn.OK

    def on_event(self, pad, info):
        event = info.get_event()
        if event is None:
            return Gst.PadProbeReturn.OK
        if event.type == Gst.EventType.EOS and not self.closed:
            # Not on this streaming thread: qtdemux's task is still unwinding from its EOS.
            GLib.idle_add(self.rewind)
            return Gst.PadProbeReturn.DROP
        if event.type in (Gst.EventType.FLUSH_START, Gst.EventType.FLUSH_STOP):
            if self.rewinding:
                if event.type == Gst.EventType.FLUSH_STOP:
                    self.rewinding = False
                return Gst.PadProbeReturn.DROP
            if event.type == Gst.EventType.FLUSH_STOP:
                # Any other flushing seek restarts the pipeline's running time at 0; our offset must follow.
                self.offset = 0
                self.loop_end = 0
                pad.set_offset(0)
        return Gst.PadProbeReturn.OK

    def rewind(self):
        if self.closed or self.pad is None:
            return GLib.SOURCE_REMOVE
        self.loops += 1
        self.offset += self.loop_end
        self.loop_end = 0
        # Set before the seek: the segment event the demuxer sends after it is the first item to carry the offset.
        self.pad.set_offset(self.offset)
        self.rewinding = True
        if not self.demux.seek_simple(Gst.Format.TIME, Gst.SeekFlags.FLUSH | Gst.SeekFlags.KEY_UNIT, 0):
            self.rewinding = False
            log(f"mount {self.mount}: seek back to 0 failed after loop {self.loops}")
        return GLib.SOURCE_REMOVE


class Server:
    def __init__(self, args):
        self.args = args
        self.loop = GLib.MainLoop()
        self.server = GstRtspServer.RTSPServer()
        self.server.set_address(args.host)
        self.server.set_service(str(args.port))
        # The default backlog (5) drops connects when a test opens many cameras at once.
        self.server.set_backlog(64)
        self.feeds = set()
        mounts = self.server.get_mount_points()
        for name, path in args.mounts.items():
            factory = GstRtspServer.RTSPMediaFactory()
            factory.set_launch(LAUNCH.format(location=quote(path)))
            # One pipeline per mount, whatever the number of clients: several cameras (or a camera and a debugging
            # ffprobe) reading the same mount see the same stream, as from one physical camera, and the file is
            # demuxed once. When the last client leaves, the pipeline goes; the next client starts the file afresh.
            factory.set_shared(True)
            factory.set_protocols(GstRtsp.RTSPLowerTrans.TCP | GstRtsp.RTSPLowerTrans.UDP)
            if args.loop:
                factory.set_media_gtype(EndlessMedia.__gtype__)
            factory.connect("media-configure", self.on_media_configure, name)
            mounts.add_factory(name, factory)

    def on_media_configure(self, _factory, media, name):
        feed = CameraFeed(name, media.get_element(), self.args.loop)
        # Keeps the feed (and its probe callbacks) alive exactly as long as the media is.
        self.feeds.add(feed)
        media.connect("unprepared", self.on_unprepared, feed)

    def on_unprepared(self, _media, feed):
        feed.closed = True
        self.feeds.discard(feed)

    def listen(self):
        if self.server.attach(None) == 0:
            return listen_error(self.args.host, self.args.port)
        return None

    def stop(self):
        self.loop.quit()
        return GLib.SOURCE_REMOVE

    def handle_signals(self):
        # Installed before READY is printed: a caller that stops us right after READY must get a clean exit.
        for sig in (signal.SIGTERM, signal.SIGINT):
            GLib.unix_signal_add(GLib.PRIORITY_HIGH, sig, self.stop)

    def watch_stdin(self):
        GLib.io_add_watch(
            GLib.IOChannel.unix_new(sys.stdin.fileno()),
            GLib.PRIORITY_DEFAULT,
            GLib.IOCondition.IN | GLib.IOCondition.HUP | GLib.IOCondition.ERR,
            self.on_stdin,
        )

    def on_stdin(self, _channel, _condition):
        try:
            data = os.read(sys.stdin.fileno(), 4096)
        except OSError:
            data = b""
        if data:
            return GLib.SOURCE_CONTINUE
        log("stdin closed (parent gone): exiting")
        return self.stop()

    def run(self):
        self.loop.run()


def listen_error(host, port):
    """GstRTSPServer only says attach failed; bind a probe socket to find out why."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except OSError as err:
        return f"cannot listen on {host}:{port}: {err.strerror}"
    return f"cannot listen on {host}:{port}"


def main(argv):
    args = parse_args(argv)
    missing = [el for el in ("filesrc", "qtdemux", "h264parse", "rtph264pay") if Gst.ElementFactory.find(el) is None]
    if missing:
        log(
            f"GStreamer elements missing: {', '.join(missing)}; install the Debian packages "
            "gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad"
        )
        return 2
    for name, path in args.mounts.items():
        problem = preflight(name, path)
        if problem:
            log(problem)
            return 2
    server = Server(args)
    server.handle_signals()
    if args.watch_stdin:
        server.watch_stdin()
    problem = server.listen()
    if problem:
        log(problem)
        return 3
    print(f"READY rtsp://{args.host}:{args.port}", flush=True)
    server.run()
    # Tearing down live media pipelines from Python at interpreter exit can block on streaming threads; the
    # sockets and file descriptors are the kernel's to close, and nothing here holds state worth flushing.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    # GLib's signal sources only fire while the main loop runs; until then (preflight) default handling is right.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    sys.exit(main(sys.argv[1:]))
