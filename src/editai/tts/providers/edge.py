"""Edge TTS: Microsoft Edge's read-aloud voices through the ``edge-tts`` package.

No key and no bill. The package speaks the service's WebSocket protocol
(``wss://speech.platform.bing.com/consumer/speech/synthesize/readaloud/edge/v1``): it
sends a ``speech.config`` and an SSML frame per text chunk and receives MP3 audio
(``audio-24khz-48kbitrate-mono-mp3``) plus ``audio.metadata`` frames whose WordBoundary
entries (offset and duration in 100 ns ticks) become the subtitle timings.

Two settings reach the connection without touching the package: ``edge_tts_connect_to``
dials another host:port while TLS still verifies ``speech.platform.bing.com`` (a relay, or
a test double), and ``edge_tts_ca_file`` adds a CA to the trusted ones (a TLS-inspecting
proxy). With neither set, edge-tts connects exactly as it does on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import math
import socket
import ssl
from pathlib import Path
from typing import IO

import aiohttp
import certifi
import edge_tts
from aiohttp.abc import AbstractResolver, ResolveResult
from edge_tts import exceptions as edge_errors

from editai.integrations.errors import (
    ProviderError,
    ProviderRateLimited,
    ProviderRequestError,
    ProviderResponseError,
    ProviderUnavailable,
)
from editai.logging import get_logger
from editai.settings import Settings
from editai.tts.providers.base import Speech, WordTiming
from editai.tts.providers.edge_voices import is_valid_voice

log = get_logger(__name__)

PROVIDER = "Edge TTS"
EDGE_HOST = "speech.platform.bing.com"
TICKS_PER_SECOND = 10_000_000
# Short names as Edge lists them (en-US-AriaNeural, en-US-AvaMultilingualNeural,
# zh-CN-shaanxi-XiaoniNeural) or Microsoft's long form of one, which edge-tts also takes.
# Audio is written in blocks of this size, each off the event loop.
WRITE_BLOCK_BYTES = 256 * 1024


def parse_connect_to(value: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` -> (host, port); ValueError when malformed."""
    host, sep, port_text = value.strip().rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise ValueError("expected host:port")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    port = int(port_text)
    if not 0 < port < 65536:
        raise ValueError("port out of range")
    return host, port


class ConnectToResolver(AbstractResolver):
    """Resolves Edge's host name to the ``connect_to`` address; others resolve normally.

    aiohttp keeps the URL's host for SNI and certificate checks, so TLS still verifies
    ``speech.platform.bing.com`` whatever address the socket reaches.
    """

    def __init__(self, host: str, port: int) -> None:
        self._host = host
        self._port = port
        self._fallback = aiohttp.DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host.rstrip(".").lower() != EDGE_HOST:
            return await self._fallback.resolve(host, port, family)
        try:
            address = ipaddress.ip_address(self._host)
        except ValueError:
            targets = await self._fallback.resolve(self._host, self._port, family)
            return [{**target, "hostname": host} for target in targets]
        return [
            {
                "hostname": host,
                "host": str(address),
                "port": self._port,
                "family": socket.AF_INET6 if address.version == 6 else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            }
        ]

    async def close(self) -> None:
        await self._fallback.close()


class EdgeConnector(aiohttp.TCPConnector):
    """The connector handed to edge-tts when a setting changes how it connects.

    Two quirks of edge-tts are worked around here, both in one place:

    * it passes its own certifi ``SSLContext`` to ``ws_connect``, which aiohttp prefers
      to the connector's, so the extra CA would never be used: the connector's context
      wins instead (verification stays on; only the trusted roots grow);
    * it opens one ``ClientSession`` per text chunk (and again after a 403 to correct
      the clock), and each session closes the connector it was given: closing is
      deferred to :meth:`shutdown` so the second chunk does not meet a closed connector.
    """

    def __init__(self, *, ssl_context: ssl.SSLContext | None, resolver: AbstractResolver) -> None:
        super().__init__(resolver=resolver, ssl=ssl_context if ssl_context else True)
        self._edge_ssl = ssl_context
        self._edge_resolver = resolver

    def _get_ssl_context(self, req: aiohttp.ClientRequest) -> ssl.SSLContext | None:
        if self._edge_ssl is not None and req.is_ssl():
            return self._edge_ssl
        return super()._get_ssl_context(req)

    async def close(self, *, abort_ssl: bool = False) -> None:
        """Called by each edge-tts session as it ends; the connector stays usable."""

    async def shutdown(self) -> None:
        try:
            await super().close()
        finally:
            await self._edge_resolver.close()


def _ssl_context_with(ca_file: Path) -> ssl.SSLContext:
    """The roots edge-tts trusts (certifi's) plus ``ca_file``. Blocking: run off-loop."""
    context = ssl.create_default_context(cafile=certifi.where())
    context.load_verify_locations(cafile=str(ca_file))
    return context


class _AudioFile:
    """Appends audio chunks to a file in blocks, every disk call in a worker thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = 0
        self._pending = bytearray()
        self._file: IO[bytes] | None = None

    async def open(self) -> None:
        self._file = await asyncio.to_thread(self.path.open, "wb")

    async def write(self, data: bytes) -> None:
        self._pending += data
        self.size += len(data)
        if len(self._pending) >= WRITE_BLOCK_BYTES:
            await self._flush()

    async def _flush(self) -> None:
        if self._pending and self._file is not None:
            block, self._pending = bytes(self._pending), bytearray()
            await asyncio.to_thread(self._file.write, block)

    async def close(self) -> None:
        if self._file is not None:
            try:
                await self._flush()
            finally:
                await asyncio.to_thread(self._file.close)
                self._file = None

    async def discard(self) -> None:
        if self._file is not None:
            await asyncio.to_thread(self._file.close)
            self._file = None
        await asyncio.to_thread(self.path.unlink, missing_ok=True)


def _handshake_error(status: int) -> ProviderError:
    if status == 403:
        # edge-tts has already corrected the clock from the answer's Date and retried.
        return ProviderRequestError(
            PROVIDER,
            "Edge TTS refused the connection (HTTP 403): the edge-tts package may need an "
            "update, or the server clock is wrong",
            status=status,
        )
    if status == 429:
        return ProviderRateLimited(
            PROVIDER, "Edge TTS is rate-limiting requests (HTTP 429)", status=status
        )
    if status >= 500:
        return ProviderUnavailable(
            PROVIDER, f"Edge TTS is unavailable (HTTP {status})", status=status
        )
    return ProviderRequestError(
        PROVIDER, f"Edge TTS refused the connection (HTTP {status})", status=status
    )


def _provider_error(exc: BaseException, timeout: float) -> ProviderError | None:
    """The safe, classified error for what edge-tts or aiohttp raised; None if not theirs.

    The messages are ours: aiohttp's own would carry the request URL with its tokens.
    """
    if isinstance(exc, edge_errors.SkewAdjustmentError) and isinstance(
        exc.__cause__, aiohttp.ClientResponseError
    ):
        return _handshake_error(exc.__cause__.status)
    if isinstance(exc, aiohttp.ClientResponseError):
        return _handshake_error(exc.status)
    if isinstance(exc, edge_errors.NoAudioReceived):
        # What the service does with a voice it does not have: close without audio.
        return ProviderRequestError(
            PROVIDER, "Edge TTS closed the connection without sending audio (unknown voice?)"
        )
    if isinstance(exc, edge_errors.UnexpectedResponse | edge_errors.UnknownResponse):
        return ProviderResponseError(PROVIDER, "Edge TTS sent a message this client cannot read")
    if isinstance(exc, edge_errors.EdgeTTSException):
        return ProviderUnavailable(PROVIDER, "Edge TTS connection failed")
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return ProviderUnavailable(
            PROVIDER,
            f"Edge TTS: the TLS certificate of {EDGE_HOST} could not be verified (behind a "
            "TLS-inspecting proxy, set EDITAI_EDGE_TTS_CA_FILE to its CA)",
        )
    if isinstance(exc, aiohttp.ClientSSLError):
        return ProviderUnavailable(PROVIDER, "Edge TTS: the TLS connection failed")
    if isinstance(exc, TimeoutError):
        return ProviderUnavailable(PROVIDER, f"Edge TTS did not answer within {timeout:g} s")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return ProviderUnavailable(PROVIDER, "Edge TTS is unreachable")
    if isinstance(exc, aiohttp.ClientError):
        return ProviderUnavailable(PROVIDER, "Edge TTS connection failed")
    return None


class EdgeTtsProvider:
    """``EDGE`` in a profile's ``ttsProvider``; voices are Edge short names."""

    name = "EDGE"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._timeout = max(settings.provider_timeout_seconds, 0.1)

    def default_voice(self) -> str:
        return self._settings.edge_tts_default_voice

    async def synthesize(self, text: str, voice_id: str, work_dir: Path) -> Speech:
        if not is_valid_voice(voice_id):
            raise ProviderRequestError(
                PROVIDER,
                f"{voice_id[:80]!r} is not an Edge TTS voice name (like en-US-AriaNeural)",
            )
        if not text.strip():
            raise ProviderRequestError(PROVIDER, "There is no text to speak")
        connector = await self._connector()
        audio = _AudioFile(work_dir / "edge-tts.mp3")
        try:
            words = await self._stream(text, voice_id, connector, audio)
            await audio.close()
        except BaseException as exc:
            with contextlib.suppress(OSError):
                await audio.discard()
            error = exc if isinstance(exc, ProviderError) else _provider_error(exc, self._timeout)
            if error is None:
                raise
            log.warning(
                "edge_tts.failed", error=type(exc).__name__, reason=error.message, voice=voice_id
            )
            if error is exc:
                raise
            raise error from exc
        finally:
            if connector is not None:
                await connector.shutdown()
        log.info("edge_tts.synthesized", voice=voice_id, words=len(words), audio_bytes=audio.size)
        return Speech(audio_path=audio.path, words=words, billed_characters=None)

    async def _stream(
        self, text: str, voice_id: str, connector: EdgeConnector | None, audio: _AudioFile
    ) -> list[WordTiming]:
        seconds = max(1, math.ceil(self._timeout))
        try:
            communicate = edge_tts.Communicate(
                text,
                voice_id,
                boundary="WordBoundary",
                connector=connector,
                connect_timeout=seconds,
                receive_timeout=seconds,
            )
        except (TypeError, ValueError):  # its own checks of the voice and prosody
            raise ProviderRequestError(PROVIDER, "Edge TTS cannot use this voice") from None
        await audio.open()
        words: list[WordTiming] = []
        stream = communicate.stream()
        try:
            while True:
                # edge-tts sets no timeout on WebSocket messages: a silent server would
                # otherwise hold the job forever.
                try:
                    async with asyncio.timeout(self._timeout):
                        chunk = await anext(stream)
                except StopAsyncIteration:
                    break
                if chunk["type"] == "audio":
                    await audio.write(chunk.get("data", b""))
                elif chunk["type"] == "WordBoundary":
                    start = chunk.get("offset", 0.0) / TICKS_PER_SECOND
                    end = start + chunk.get("duration", 0.0) / TICKS_PER_SECOND
                    words.append(WordTiming(text=chunk.get("text", ""), start=start, end=end))
        finally:
            await stream.aclose()
        # edge-tts counts a chunk's audio as complete only on its turn.end; a connection
        # that closes mid-turn ends the stream quietly, with the speech cut short.
        completed = communicate.state.get("cumulative_audio_bytes")
        if completed is not None and completed != audio.size:
            raise ProviderUnavailable(
                PROVIDER, "Edge TTS closed the connection before the speech was complete"
            )
        return words

    async def _connector(self) -> EdgeConnector | None:
        """None (edge-tts's own defaults) unless a setting changes how it connects."""
        connect_to, ca_file = self._settings.edge_tts_connect_to, self._settings.edge_tts_ca_file
        if not connect_to and ca_file is None:
            return None
        resolver: AbstractResolver
        if connect_to:
            try:
                host, port = parse_connect_to(connect_to)
            except ValueError:
                raise ProviderRequestError(
                    PROVIDER, "EDITAI_EDGE_TTS_CONNECT_TO must be host:port"
                ) from None
            resolver = ConnectToResolver(host, port)
        else:
            resolver = aiohttp.DefaultResolver()
        context = None
        if ca_file is not None:
            try:
                context = await asyncio.to_thread(_ssl_context_with, ca_file)
            except (OSError, ssl.SSLError):
                with contextlib.suppress(Exception):
                    await resolver.close()
                raise ProviderRequestError(
                    PROVIDER, "EDITAI_EDGE_TTS_CA_FILE could not be read as a PEM CA bundle"
                ) from None
        return EdgeConnector(ssl_context=context, resolver=resolver)
