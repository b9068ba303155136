"""TFRecord framing and the event files TensorBoard reads.

A record is: the data's length (uint64, little-endian), the masked CRC32C of
those 8 bytes, the data, and the masked CRC32C of the data (each uint32). The
checksum is CRC32C (Castagnoli), computed here with a 256-entry table so no
extension module is needed; TensorFlow masks it (rotate right by 15, add a
constant) because a CRC over data that itself embeds CRCs is weak.
"""

import atexit
import itertools
import os
import socket
import struct
import threading
import time
import weakref

from . import _proto

_CASTAGNOLI = 0x82F63B78  # the reversed CRC32C polynomial


def _crc_table():
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ (_CASTAGNOLI if crc & 1 else 0)
        table.append(crc)
    return table


_TABLE = _crc_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    table = _TABLE  # a local: the loop runs once per byte
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data):
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def frame(data):
    """One TFRecord holding `data`."""
    header = struct.pack("<Q", len(data))
    return (
        header
        + struct.pack("<I", masked_crc32c(header))
        + data
        + struct.pack("<I", masked_crc32c(data))
    )


def event(wall_time, step=None, file_version=None, summary=None, session_log=None, source=None):
    """An encoded `Event`: wall_time=1, step=2, then one of file_version=3,
    summary=5, session_log=7, and source_metadata=10."""
    return b"".join(
        [
            _proto.double(1, wall_time),
            _proto.uint(2, 0 if step is None else int(step)),
            b"" if file_version is None else _proto.string(3, file_version, always=True),
            _proto.message(5, summary),
            _proto.message(7, session_log),
            b"" if source is None else _proto.message(10, _proto.string(1, source)),
        ]
    )


FILE_VERSION = "brain.Event:2"
_SESSION_START = 1  # SessionLog.START
_uids = itertools.count()  # numbers each event file of the process, as the reference writer
_uid_lock = threading.Lock()
_open_files = weakref.WeakSet()


def session_start():
    return _proto.uint(1, _SESSION_START)


class EventFile:
    """An event file in `logdir`, named as TensorBoard's own writer names them.

    Records are written at once into the file's buffer; the buffer goes to the
    OS every `max_queue` records, when `flush_secs` have passed at a write, on
    `flush()`/`close()`, and at interpreter exit. (TensorBoard's writer queues
    records for a background thread instead; the files are the same.)
    """

    def __init__(self, logdir, max_queue=10, flush_secs=120, filename_suffix=""):
        self.logdir = str(logdir)
        os.makedirs(self.logdir, exist_ok=True)
        with _uid_lock:
            uid = next(_uids)
        host, pid = socket.gethostname(), os.getpid()
        name = f"events.out.tfevents.{int(time.time()):010d}.{host}.{pid}.{uid}"
        self.path = os.path.join(self.logdir, name + filename_suffix)
        self._file = open(self.path, "wb")  # noqa: SIM115 -- open until close()
        self._lock = threading.Lock()
        self._max_queue = max(1, int(max_queue))
        self._flush_secs = flush_secs
        self._unflushed = 0
        self._next_flush = time.monotonic() + flush_secs
        _open_files.add(self)
        self.write(event(time.time(), file_version=FILE_VERSION, source="ember.utils.tensorboard"))
        self.flush()

    @property
    def closed(self):
        return self._file.closed

    def write(self, event_bytes):
        with self._lock:
            if self._file.closed:
                raise RuntimeError(f"the event file {self.path} is closed")
            self._file.write(frame(event_bytes))
            self._unflushed += 1
            due = time.monotonic() >= self._next_flush
            if self._unflushed >= self._max_queue or due:
                self._flush_locked()

    def _flush_locked(self):
        if not self._file.closed:
            self._file.flush()
        self._unflushed = 0
        self._next_flush = time.monotonic() + self._flush_secs

    def flush(self):
        with self._lock:
            self._flush_locked()

    def close(self):
        with self._lock:
            if not self._file.closed:
                self._file.close()
        _open_files.discard(self)


@atexit.register
def _flush_open_files():
    # A script that never closes its writer still leaves complete files.
    for f in list(_open_files):
        f.flush()
