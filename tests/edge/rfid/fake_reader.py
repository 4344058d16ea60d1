"""A scripted LLRP reader on localhost, speaking the binary protocol (LLRP 1.0.1, EPCglobal)
well enough for a client to connect, configure it, start inventory and receive tag reports.

Messages are encoded here by hand from the LLRP spec (not with sllurp's encoder), so a test
exercises sllurp's real decoding and state machine the way a reader on the network would.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

# Message types (LLRP 1.0.1, section 16.1)
GET_READER_CAPABILITIES = 1
GET_READER_CONFIG = 2
SET_READER_CONFIG = 3
CLOSE_CONNECTION_RESPONSE = 4
GET_READER_CAPABILITIES_RESPONSE = 11
GET_READER_CONFIG_RESPONSE = 12
SET_READER_CONFIG_RESPONSE = 13
CLOSE_CONNECTION = 14
ADD_ROSPEC = 20
DELETE_ROSPEC = 21
START_ROSPEC = 22
ENABLE_ROSPEC = 24
ADD_ROSPEC_RESPONSE = 30
DELETE_ROSPEC_RESPONSE = 31
START_ROSPEC_RESPONSE = 32
ENABLE_ROSPEC_RESPONSE = 34
DELETE_ACCESSSPEC = 41
DELETE_ACCESSSPEC_RESPONSE = 51
RO_ACCESS_REPORT = 61
KEEPALIVE = 62
READER_EVENT_NOTIFICATION = 63
ENABLE_EVENTS_AND_REPORTS = 64
KEEPALIVE_ACK = 72

RESPONSES = {
    GET_READER_CONFIG: GET_READER_CONFIG_RESPONSE,
    SET_READER_CONFIG: SET_READER_CONFIG_RESPONSE,
    ADD_ROSPEC: ADD_ROSPEC_RESPONSE,
    DELETE_ROSPEC: DELETE_ROSPEC_RESPONSE,
    START_ROSPEC: START_ROSPEC_RESPONSE,
    ENABLE_ROSPEC: ENABLE_ROSPEC_RESPONSE,
    DELETE_ACCESSSPEC: DELETE_ACCESSSPEC_RESPONSE,
    CLOSE_CONNECTION: CLOSE_CONNECTION_RESPONSE,
}

# Parameter types (section 16.2)
P_UTC_TIMESTAMP = 128
P_GENERAL_DEVICE_CAPABILITIES = 137
P_REGULATORY_CAPABILITIES = 143
P_UHF_BAND_CAPABILITIES = 144
P_TRANSMIT_POWER_LEVEL = 145
P_ROSPEC = 177
P_AISPEC = 183
P_INVENTORY_PARAMETER_SPEC = 186
P_ANTENNA_CONFIGURATION = 222
P_RF_TRANSMITTER = 224
P_RO_REPORT_SPEC = 237
P_TAG_REPORT_CONTENT_SELECTOR = 238
P_TAG_REPORT_DATA = 240
P_EPC_DATA = 241
P_READER_EVENT_NOTIFICATION_DATA = 246
P_CONNECTION_ATTEMPT_EVENT = 256
P_LLRP_STATUS = 287
P_RF_MODE_TABLE = 328
P_RF_MODE_TABLE_ENTRY = 329
P_CUSTOM = 1023
IMPINJ = 25882
IMPINJ_PEAK_RSSI = 57
# TV-encoded parameters: type -> struct format of the value
TV_ANTENNA_ID = (1, "H")
TV_LAST_SEEN_UTC = (4, "Q")
TV_PEAK_RSSI = (6, "b")
TV_TAG_SEEN_COUNT = (8, "H")
TV_EPC_96 = (13, "12s")


def message(kind: int, body: bytes, message_id: int = 0) -> bytes:
    return struct.pack("!HII", (1 << 10) | kind, 10 + len(body), message_id) + body


def tlv(kind: int, body: bytes) -> bytes:
    return struct.pack("!HH", kind, 4 + len(body)) + body


def tv(spec: tuple[int, str], value: object) -> bytes:
    kind, fmt = spec
    return struct.pack("!B" + fmt, 0x80 | kind, value)


def status_ok() -> bytes:
    return tlv(P_LLRP_STATUS, struct.pack("!HH", 0, 0))


@dataclass
class Tag:
    """One TagReportData entry."""

    epc: str
    antenna: int | None = 1
    peak_rssi: int | None = -55
    impinj_rssi: int | None = None  # 1/100 dBm
    last_seen_us: int | None = None
    seen_count: int | None = 1


def tag_report_data(tag: Tag) -> bytes:
    raw = bytes.fromhex(tag.epc)
    if len(raw) == 12:
        body = tv(TV_EPC_96, raw)
    else:
        body = tlv(P_EPC_DATA, struct.pack("!H", len(raw) * 8) + raw)
    if tag.antenna is not None:
        body += tv(TV_ANTENNA_ID, tag.antenna)
    if tag.peak_rssi is not None:
        body += tv(TV_PEAK_RSSI, tag.peak_rssi)
    if tag.last_seen_us is not None:
        body += tv(TV_LAST_SEEN_UTC, tag.last_seen_us)
    if tag.seen_count is not None:
        body += tv(TV_TAG_SEEN_COUNT, tag.seen_count)
    if tag.impinj_rssi is not None:
        body += tlv(P_CUSTOM, struct.pack("!IIh", IMPINJ, IMPINJ_PEAK_RSSI, tag.impinj_rssi))
    return tlv(P_TAG_REPORT_DATA, body)


def ro_access_report(tags: Iterable[Tag], message_id: int = 0) -> bytes:
    return message(RO_ACCESS_REPORT, b"".join(tag_report_data(t) for t in tags), message_id)


def connection_success() -> bytes:
    data = tlv(P_UTC_TIMESTAMP, struct.pack("!Q", 1_764_151_200_000_000))
    data += tlv(P_CONNECTION_ATTEMPT_EVENT, struct.pack("!H", 0))
    return message(READER_EVENT_NOTIFICATION, tlv(P_READER_EVENT_NOTIFICATION_DATA, data))


def capabilities(antennas: int, powers_cdbm: Iterable[int] = (1000, 2000, 3000)) -> bytes:
    general = tlv(P_GENERAL_DEVICE_CAPABILITIES, struct.pack("!HHIIH", antennas, 0, IMPINJ, 1, 0))
    band = b"".join(
        tlv(P_TRANSMIT_POWER_LEVEL, struct.pack("!Hh", index, power))
        for index, power in enumerate(powers_cdbm, start=1)
    )
    mode = struct.pack("!IBBBBIIIII", 1000, 0, 2, 0, 4, 160_000, 1500, 6250, 25_000, 0)
    band += tlv(P_RF_MODE_TABLE, tlv(P_RF_MODE_TABLE_ENTRY, mode))
    regulatory = tlv(
        P_REGULATORY_CAPABILITIES, struct.pack("!HH", 840, 1) + tlv(P_UHF_BAND_CAPABILITIES, band)
    )
    return message(GET_READER_CAPABILITIES_RESPONSE, status_ok() + general + regulatory)


def _tlv_list(chunk: bytes) -> list[tuple[int, bytes]]:
    """The TLV parameters in `chunk`: (type, body) in order."""
    found: list[tuple[int, bytes]] = []
    offset = 0
    while offset + 4 <= len(chunk):
        ptype, length = struct.unpack_from("!HH", chunk, offset)
        found.append((ptype & 0x3FF, chunk[offset + 4 : offset + length]))
        offset += length
    return found


def _tlvs(chunk: bytes) -> dict[int, bytes]:
    """The TLV parameters in `chunk`, by type (the last of each type wins)."""
    return dict(_tlv_list(chunk))


# TagReportContentSelector flag bits, most significant first (LLRP 16.2.7.1)
CONTENT_FLAGS = (
    "EnableROSpecID",
    "EnableSpecIndex",
    "EnableInventoryParameterSpecID",
    "EnableAntennaID",
    "EnableChannelIndex",
    "EnablePeakRSSI",
    "EnableFirstSeenTimestamp",
    "EnableLastSeenTimestamp",
    "EnableTagSeenCount",
    "EnableAccessSpecID",
)


def rospec_summary(add_rospec_body: bytes) -> tuple[list[int], set[str]]:
    """From an ADD_ROSPEC message body: the AISpec's antenna ids and the tag report content
    flags that are set."""
    rospec = _tlvs(add_rospec_body)[P_ROSPEC]  # ROSpec: ROSpecID u32, priority u8, state u8, …
    inner = _tlvs(rospec[6:])
    aispec = inner[P_AISPEC]  # AntennaCount u16, AntennaID u16 * count, …
    (count,) = struct.unpack_from("!H", aispec)
    antennas = list(struct.unpack_from(f"!{count}H", aispec, 2))
    report_spec = inner[
        P_RO_REPORT_SPEC
    ]  # ROReportSpec: trigger u8, N u16, TagReportContentSelector
    (flags,) = struct.unpack_from("!H", _tlvs(report_spec[3:])[P_TAG_REPORT_CONTENT_SELECTOR])
    enabled = {name for bit, name in enumerate(CONTENT_FLAGS) if flags & (0x8000 >> bit)}
    return antennas, enabled


def transmit_power_indexes(add_rospec_body: bytes) -> dict[int, int]:
    """From an ADD_ROSPEC body: antenna id -> TransmitPower (an index into the reader's
    power table) of each AntennaConfiguration."""
    rospec = _tlvs(add_rospec_body)[P_ROSPEC]
    aispec = _tlvs(rospec[6:])[P_AISPEC]
    (count,) = struct.unpack_from("!H", aispec)
    spec = _tlvs(aispec[2 + 2 * count :])[P_INVENTORY_PARAMETER_SPEC]  # id u16, protocol u8
    powers = {}
    for kind, body in _tlv_list(spec[3:]):
        if kind == P_ANTENNA_CONFIGURATION:  # AntennaID u16, then parameters
            (antenna,) = struct.unpack_from("!H", body)
            transmitter = _tlvs(body[2:])[P_RF_TRANSMITTER]  # hop table, channel, power
            powers[antenna] = struct.unpack_from("!HHH", transmitter)[2]
    return powers


@dataclass
class Connection:
    sock: socket.socket
    received: list[int] = field(default_factory=list)  # message types from the client
    bodies: dict[int, list[bytes]] = field(default_factory=dict)
    inventorying: threading.Event = field(default_factory=threading.Event)
    closed: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, data: bytes) -> None:
        with self.lock:
            self.sock.sendall(data)


class FakeLlrpReader:
    """Accepts clients one at a time on 127.0.0.1 and answers them like a reader."""

    def __init__(self, *, antennas: int = 4) -> None:
        self.antennas = antennas
        self.connections: list[Connection] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="fake-llrp", daemon=True)
        self._new_connection = threading.Condition()

    def __enter__(self) -> FakeLlrpReader:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._server.close()
        for connection in self.connections:
            self._close(connection)
        self._thread.join(5)

    def wait_inventorying(self, count: int = 1, timeout: float = 10.0) -> Connection:
        """Wait for the `count`-th client to have started inventory; return its connection."""
        with self._new_connection:
            if not self._new_connection.wait_for(lambda: len(self.connections) >= count, timeout):
                raise TimeoutError(f"no client connection #{count}")
        connection = self.connections[count - 1]
        if not connection.inventorying.wait(timeout):
            raise TimeoutError(f"client #{count} did not start inventory: {connection.received}")
        return connection

    def drop(self, connection: Connection) -> None:
        """The reader goes away (reboot, cable pulled)."""
        self._close(connection)

    def _close(self, connection: Connection) -> None:
        with contextlib.suppress(OSError):
            connection.sock.shutdown(socket.SHUT_RDWR)
        connection.sock.close()

    def _accept(self) -> None:
        self._server.settimeout(0.05)  # closing a socket does not wake a blocked accept()
        while not self._stopping.is_set():
            try:
                sock, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(None)
            connection = Connection(sock)
            with self._new_connection:
                self.connections.append(connection)
                self._new_connection.notify_all()
            self._serve(connection)

    def _serve(self, connection: Connection) -> None:
        try:
            connection.send(connection_success())
            while True:
                header = _read_exactly(connection.sock, 10)
                if header is None:
                    return
                kind_word, length, message_id = struct.unpack("!HII", header)
                body = _read_exactly(connection.sock, length - 10)
                if body is None:
                    return
                kind = kind_word & 0x3FF
                connection.received.append(kind)
                connection.bodies.setdefault(kind, []).append(body)
                if kind == GET_READER_CAPABILITIES:
                    connection.send(capabilities(self.antennas))
                elif kind in RESPONSES:
                    connection.send(message(RESPONSES[kind], status_ok(), message_id))
                    if kind == ENABLE_ROSPEC:
                        connection.inventorying.set()
        except OSError:
            return
        finally:
            connection.closed.set()


def _read_exactly(sock: socket.socket, count: int) -> bytes | None:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            return None
        data += chunk
    return data
