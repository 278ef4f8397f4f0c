"""A fake of Microsoft Edge's read-aloud speech service, over real TLS WebSockets.

It speaks the protocol the ``edge-tts`` package speaks to
``wss://speech.platform.bing.com/consumer/speech/synthesize/readaloud/edge/v1``:

* handshake: ``TrustedClientToken`` must be Edge's, ``Sec-MS-GEC`` must be the token of
  the server's current 5-minute window (recomputed with ``edge_tts.drm``), else HTTP 403
  with the server's ``Date`` (from which the client corrects its clock and retries);
* the client sends a ``Path:speech.config`` text frame, then one ``Path:ssml`` frame per
  turn; an unknown voice gets the connection closed, without audio, as the service does;
* the answer: ``Path:turn.start``, binary ``Path:audio`` frames (2-byte big-endian
  header length, headers, then MP3 bytes), ``Path:audio.metadata`` frames with one
  WordBoundary per word (offset/duration in 100 ns ticks), an empty closing audio frame
  and ``Path:turn.end``.

The audio is real: FFmpeg encodes one tone per word, 24 kHz mono MP3 at a constant
48 kb/s like ``audio-24khz-48kbitrate-mono-mp3``, and the word timings sent are where
those tones are. Everything received is recorded in :attr:`FakeEdgeTts.connections`.

The server certificate is made for ``speech.platform.bing.com`` by a test CA
(:func:`make_tls_files`); the client reaches it through ``edge_tts_connect_to``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import json
import math
import re
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from edge_tts.constants import TRUSTED_CLIENT_TOKEN
from edge_tts.drm import generate_sec_ms_gec_v2
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from editai.media.binaries import Binaries

EDGE_HOST = "speech.platform.bing.com"
SYNTHESIZE_PATH = "/consumer/speech/synthesize/readaloud/edge/v1"
OUTPUT_FORMAT = "audio-24khz-48kbitrate-mono-mp3"
TICKS_PER_SECOND = 10_000_000
SAMPLE_RATE = 24_000
BITRATE = 48_000
MP3_FRAME_BYTES = 144  # MPEG-2 layer III, 576 samples at 24 kHz and 48 kb/s: 24 ms
AUDIO_FRAME_MAX_BYTES = 28 * MP3_FRAME_BYTES  # the service sends audio in ~4 KB messages
SSML_NS = "{http://www.w3.org/2001/10/synthesis}"
VOICE_LONG_NAME = re.compile(r"Microsoft Server Speech Text to Speech Voice \((.+), (.+)\)")
DEFAULT_VOICES = frozenset(
    {"en-US-AriaNeural", "en-US-GuyNeural", "de-DE-KatjaNeural", "zh-CN-shaanxi-XiaoniNeural"}
)
WORD_EDGE_PUNCTUATION = ".,!?;:\"'()[]{}"

CloseAt = Literal["accept", "config", "mid-audio"]


# --- TLS ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TlsFiles:
    ca_file: Path
    cert_file: Path
    key_file: Path


def make_tls_files(folder: Path, hostname: str = EDGE_HOST) -> TlsFiles:
    """A CA and a server certificate for ``hostname`` it signed, as PEM files."""
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "EditAI test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    files.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


# --- What was received ------------------------------------------------------------------


@dataclass(frozen=True)
class SentWord:
    """A WordBoundary as sent: ``text`` unescaped, times in ticks from the turn's start."""

    text: str
    offset: int
    duration: int


@dataclass
class Turn:
    request_id: str
    ssml: str
    voice: str  # the short name, e.g. en-US-AriaNeural
    text: str  # the SSML's text, unescaped
    words: list[SentWord] = field(default_factory=list)
    audio_bytes: int = 0

    @property
    def audio_seconds(self) -> float:
        return self.audio_bytes * 8 / BITRATE


@dataclass
class Connection:
    query: dict[str, str]
    headers: dict[str, str]
    refused_status: int | None = None  # the HTTP status of a refused handshake
    config: dict[str, Any] | None = None
    turns: list[Turn] = field(default_factory=list)
    closed_by_server: str | None = None  # why the server closed the WebSocket


# --- Protocol helpers -------------------------------------------------------------------


def parse_text_frame(message: str) -> tuple[dict[str, str], str]:
    head, _, body = message.partition("\r\n\r\n")
    headers = {}
    for line in head.split("\r\n"):
        key, _, value = line.partition(":")
        headers[key] = value
    return headers, body


def text_frame(path: str, request_id: str, body: str) -> str:
    return (
        f"X-RequestId:{request_id}\r\n"
        "Content-Type:application/json; charset=utf-8\r\n"
        f"Path:{path}\r\n\r\n{body}"
    )


def audio_frame(request_id: str, stream_id: str, data: bytes) -> bytes:
    """2-byte big-endian length of the header block, the headers, the MP3 bytes."""
    content_type = "Content-Type:audio/mpeg\r\n" if data else ""
    head = f"X-RequestId:{request_id}\r\n{content_type}X-StreamId:{stream_id}\r\nPath:audio\r\n"
    encoded = head.encode()
    return len(encoded).to_bytes(2, "big") + encoded + data


def spoken_words(text: str) -> list[str]:
    words = (token.strip(WORD_EDGE_PUNCTUATION) for token in text.split())
    return [word for word in words if word]


def valid_tokens(server_time: float) -> set[str]:
    """Sec-MS-GEC of this 5-minute window and the previous one (a client just behind)."""
    return {generate_sec_ms_gec_v2(server_time), generate_sec_ms_gec_v2(server_time - 300)}


def escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


async def tone_mp3(binaries: Binaries, starts: list[float], word: float, total: float) -> bytes:
    """A tone at each start (``word`` seconds long, pitch changing per word), as CBR MP3
    without a Xing header (the service's stream has none; chunks are concatenated)."""
    if starts:
        slot = starts[1] - starts[0] if len(starts) > 1 else word * 2
        lead, end = starts[0], starts[-1] + slot
        gate = f"gte(t,{lead})*lt(t,{end})*lt(mod(t-{lead},{slot}),{word})"
        pitch = f"(440+110*mod(floor((t-{lead})/{slot}),4))"
        expr = f"0.4*sin(2*PI*{pitch}*t)*{gate}"
    else:
        expr = "0"
    process = await asyncio.create_subprocess_exec(
        binaries.ffmpeg,
        *("-hide_banner", "-nostdin", "-loglevel", "error", "-f", "lavfi"),
        *("-i", f"aevalsrc=exprs='{expr}':s={SAMPLE_RATE}:c=mono:d={total}"),
        *("-c:a", "libmp3lame", "-b:a", "48k", "-ar", str(SAMPLE_RATE), "-ac", "1"),
        *("-write_xing", "0", "-id3v2_version", "0", "-write_id3v1", "0", "-f", "mp3", "pipe:1"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"ffmpeg failed: {err.decode(errors='replace')[-500:]}")
    return out


# --- The service ------------------------------------------------------------------------


class FakeEdgeTts:
    """The fake service. Tell it how to misbehave with the attributes below."""

    def __init__(
        self,
        binaries: Binaries,
        *,
        voices: frozenset[str] = DEFAULT_VOICES,
        lead_seconds: float = 0.2,
        word_seconds: float = 0.3,
        gap_seconds: float = 0.3,
    ) -> None:
        self.binaries = binaries
        self.voices = voices
        self.lead_seconds = lead_seconds
        self.word_seconds = word_seconds
        self.gap_seconds = gap_seconds
        # The server's clock runs this far ahead of the real one (tokens and Date).
        self.clock_offset_seconds = 0.0
        # Refuse every handshake with 403, whatever the token.
        self.refuse_all = False
        # Close the WebSocket at this point of the first turn.
        self.close_at: CloseAt | None = None
        # Accept the SSML, then say nothing more.
        self.stall = False
        self.connections: list[Connection] = []

    @property
    def app(self) -> Starlette:
        return Starlette(routes=[WebSocketRoute(SYNTHESIZE_PATH, self._serve)])

    @property
    def turns(self) -> list[Turn]:
        return [turn for connection in self.connections for turn in connection.turns]

    def _now(self) -> float:
        return time.time() + self.clock_offset_seconds

    def _handshake_status(self, websocket: WebSocket) -> int | None:
        query = websocket.query_params
        if query.get("TrustedClientToken") != TRUSTED_CLIENT_TOKEN:
            return 403
        if self.refuse_all or query.get("Sec-MS-GEC") not in valid_tokens(self._now()):
            return 403
        if not re.fullmatch(r"\d+-[\d.]+", query.get("Sec-MS-GEC-Version", "")):
            return 403
        if not re.fullmatch(r"[0-9a-f]{32}", query.get("ConnectionId", "")):
            return 400
        return None

    async def _serve(self, websocket: WebSocket) -> None:
        connection = Connection(dict(websocket.query_params), dict(websocket.headers))
        self.connections.append(connection)
        status = self._handshake_status(websocket)
        if status is not None:
            connection.refused_status = status
            date = email.utils.formatdate(self._now(), usegmt=True)
            await websocket.send_denial_response(
                Response(status_code=status, headers={"Date": date})
            )
            return
        await websocket.accept()
        if self.close_at == "accept":
            await self._close(websocket, connection, 1011, "closed after accept")
            return
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is None:
                await self._close(websocket, connection, 1003, "binary frame from the client")
                return
            headers, body = parse_text_frame(message["text"])
            path = headers.get("Path")
            if path == "speech.config":
                if not await self._configure(websocket, connection, body):
                    return
            elif path == "ssml" and connection.config is not None:
                if headers.get("Content-Type") != "application/ssml+xml":
                    await self._close(websocket, connection, 1007, "SSML content type")
                    return
                if not await self._turn(websocket, connection, headers, body):
                    return
            else:
                await self._close(websocket, connection, 1007, f"unexpected path {path!r}")
                return

    async def _configure(self, websocket: WebSocket, connection: Connection, body: str) -> bool:
        try:
            config = json.loads(body)
            audio = config["context"]["synthesis"]["audio"]
        except (ValueError, KeyError, TypeError):
            await self._close(websocket, connection, 1007, "bad speech.config")
            return False
        if audio.get("outputFormat") != OUTPUT_FORMAT:
            await self._close(websocket, connection, 1007, "unsupported output format")
            return False
        connection.config = config
        if self.close_at == "config":
            await self._close(websocket, connection, 1011, "closed after speech.config")
            return False
        return True

    async def _turn(
        self, websocket: WebSocket, connection: Connection, headers: dict[str, str], ssml: str
    ) -> bool:
        request_id = headers.get("X-RequestId", "")
        try:
            root = ET.fromstring(ssml)  # the SSML our own client wrote
        except ET.ParseError:
            await self._close(websocket, connection, 1007, "malformed SSML")
            return False
        voice_element = root.find(f"{SSML_NS}voice")
        match = VOICE_LONG_NAME.fullmatch(
            voice_element.get("name", "") if voice_element is not None else ""
        )
        voice = f"{match.group(1)}-{match.group(2)}" if match else ""
        text = "".join(voice_element.itertext()) if voice_element is not None else ""
        turn = Turn(request_id=request_id, ssml=ssml, voice=voice, text=text)
        connection.turns.append(turn)
        if voice not in self.voices:
            # What the service does: no answer, the connection closed.
            await self._close(websocket, connection, 1007, "unsupported voice")
            return False
        if self.stall:
            return True
        return await self._speak(websocket, connection, turn)

    async def _speak(self, websocket: WebSocket, connection: Connection, turn: Turn) -> bool:
        assert connection.config is not None
        options = connection.config["context"]["synthesis"]["audio"].get("metadataoptions", {})
        word_boundaries = options.get("wordBoundaryEnabled") == "true"
        words = spoken_words(turn.text)
        slot = self.word_seconds + self.gap_seconds
        starts = [self.lead_seconds + index * slot for index in range(len(words))]
        total = self.lead_seconds + len(words) * slot + self.gap_seconds
        audio = await tone_mp3(self.binaries, starts, self.word_seconds, total)
        stream_id = uuid.uuid4().hex.upper()
        request_id = turn.request_id
        await websocket.send_text(
            text_frame("turn.start", request_id, json.dumps({"context": {"serviceTag": "fake"}}))
        )
        sent = 0

        async def send_audio_until(end: int) -> None:
            nonlocal sent
            while sent < end:
                chunk = audio[sent : min(end, sent + AUDIO_FRAME_MAX_BYTES)]
                await websocket.send_bytes(audio_frame(request_id, stream_id, chunk))
                sent += len(chunk)
                turn.audio_bytes = sent

        for index, (word, start) in enumerate(zip(words, starts, strict=True)):
            # The audio up to the word, then its boundary (the service interleaves them).
            frame = math.floor(start * BITRATE / 8 / MP3_FRAME_BYTES)
            await send_audio_until(min(len(audio), frame * MP3_FRAME_BYTES))
            if self.close_at == "mid-audio" and index == len(words) // 2:
                await self._close(websocket, connection, 1011, "closed mid-audio")
                return False
            if word_boundaries:
                boundary = SentWord(
                    word,
                    round(start * TICKS_PER_SECOND),
                    round(self.word_seconds * TICKS_PER_SECOND),
                )
                turn.words.append(boundary)
                await websocket.send_text(
                    text_frame("audio.metadata", request_id, self._metadata(boundary))
                )
        await send_audio_until(len(audio))
        await websocket.send_bytes(audio_frame(request_id, stream_id, b""))
        await websocket.send_text(text_frame("turn.end", request_id, "{}"))
        return True

    @staticmethod
    def _metadata(word: SentWord) -> str:
        escaped = escape_text(word.text)
        entry = {
            "Type": "WordBoundary",
            "Data": {
                "Offset": word.offset,
                "Duration": word.duration,
                "text": {"Text": escaped, "Length": len(escaped), "BoundaryType": "WordBoundary"},
            },
        }
        return json.dumps({"Metadata": [entry]})

    async def _close(
        self, websocket: WebSocket, connection: Connection, code: int, reason: str
    ) -> None:
        connection.closed_by_server = reason
        await websocket.close(code=code, reason=reason)
