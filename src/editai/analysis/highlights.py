"""What Gemini is asked (highlight moments as JSON) and how its answer is checked.

The answer is untrusted input. Rules of :func:`parse_highlights`:

* Fatal (:class:`AnswerError`, the job fails with its message, nothing is stored): the
  request was blocked (``promptFeedback.blockReason``); no candidate; the candidate
  stopped for a reason other than STOP/MAX_TOKENS (SAFETY, RECITATION, ...); its text
  is not JSON (a MAX_TOKENS cut says so); the JSON is not a list of highlights (a list,
  or an object holding one under ``highlights``); or items were given and none is usable.
* Per item (a bad item is dropped, the rest kept): an object whose ``start_seconds`` and
  ``end_seconds`` are finite numbers (not booleans or strings) with
  ``0 <= start < end <= duration`` - times within ``TIME_SLACK_SECONDS`` outside the
  video are pulled in (models round), further out the item is dropped - and at least
  ``MIN_HIGHLIGHT_SECONDS`` long; ``score`` a finite number, clamped to 0..1 (missing:
  dropped); ``reason`` a string (whitespace collapsed, cut to ``MAX_REASON_CHARS``) or
  absent.
* Duplicates (same start and end) keep the best score; at most ``MAX_HIGHLIGHTS`` are
  kept (best score first, ties: earlier start). An empty list is a valid answer: the
  model found nothing worth a clip.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

MAX_HIGHLIGHTS = 20
MIN_HIGHLIGHT_SECONDS = 0.2
TIME_SLACK_SECONDS = 1.0
MAX_REASON_CHARS = 300
FINISHED_OK = frozenset({"STOP", "MAX_TOKENS", "FINISH_REASON_UNSPECIFIED"})

RESPONSE_SCHEMA: dict[str, Any] = {
    "type": "ARRAY",
    "items": {
        "type": "OBJECT",
        "properties": {
            "start_seconds": {"type": "NUMBER", "description": "Start, seconds from 0."},
            "end_seconds": {"type": "NUMBER", "description": "End, seconds from 0."},
            "score": {"type": "NUMBER", "description": "How strong a clip it makes, 0..1."},
            "reason": {"type": "STRING", "description": "Why, in one short sentence."},
        },
        "required": ["start_seconds", "end_seconds", "score", "reason"],
        "propertyOrdering": ["start_seconds", "end_seconds", "score", "reason"],
    },
}


class AnswerError(Exception):
    """Gemini's answer cannot be used at all. The message is safe to show."""


@dataclass(frozen=True, slots=True)
class Highlight:
    start: float
    end: float
    score: float
    reason: str | None


@dataclass(frozen=True, slots=True)
class ParsedAnswer:
    highlights: list[Highlight]
    given: int  # items in the answer
    dropped: int  # items that broke the rules above (duplicates and the cap not counted)


def prompt(duration: float, limit: int = MAX_HIGHLIGHTS) -> str:
    return (
        "You are a video editor choosing moments of this video to cut into short clips "
        "for social media. The video is "
        f"{duration:.1f} seconds long. List up to {limit} highlight moments: "
        "self-contained, engaging moments such as a punchline, a key statement, a striking "
        "action, reaction or reveal. For each give start_seconds and end_seconds (seconds "
        f"from the start of the video, 0 <= start_seconds < end_seconds <= {duration:.1f}), "
        "a score from 0 to 1 (how strong a clip it would make) and a one-sentence reason. "
        "Answer with a JSON array only; an empty array if nothing stands out."
    )


def request_body(file_uri: str, mime_type: str, duration: float) -> dict[str, Any]:
    """The generateContent body: the uploaded video, then the question."""
    return {
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"file_data": {"mime_type": mime_type, "file_uri": file_uri}},
                    {"text": prompt(duration)},
                ],
            }
        ],
        "generationConfig": {
            "responseMimeType": "application/json",
            "responseSchema": RESPONSE_SCHEMA,
            # 66 instead of 258 tokens a frame: highlights do not need fine detail.
            "mediaResolution": "MEDIA_RESOLUTION_LOW",
        },
    }


def token_usage(answer: dict[str, Any]) -> tuple[int, int] | None:
    """(input, output) tokens of a generateContent answer; thinking tokens are billed as
    output. None when the answer carries no usage."""
    usage = answer.get("usageMetadata")
    if not isinstance(usage, dict):
        return None

    def count(key: str) -> int:
        value = usage.get(key)
        return int(value) if isinstance(value, int | float) and value > 0 else 0

    return (
        count("promptTokenCount"),
        count("candidatesTokenCount") + count("thoughtsTokenCount"),
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _answer_text(answer: dict[str, Any]) -> tuple[str, str]:
    feedback = answer.get("promptFeedback")
    if isinstance(feedback, dict) and feedback.get("blockReason"):
        raise AnswerError(f"Gemini blocked the request ({feedback['blockReason']})")
    candidates = answer.get("candidates")
    if not isinstance(candidates, list) or not candidates or not isinstance(candidates[0], dict):
        raise AnswerError("Gemini gave no answer")
    first = candidates[0]
    finish = str(first.get("finishReason") or "FINISH_REASON_UNSPECIFIED")
    if finish not in FINISHED_OK:
        raise AnswerError(f"Gemini stopped without an answer (finish reason {finish})")
    content = first.get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    texts = [
        p["text"]
        for p in parts or []
        if isinstance(p, dict) and isinstance(p.get("text"), str) and not p.get("thought")
    ]
    return "".join(texts).strip(), finish


def _strip_fence(text: str) -> str:
    # JSON mode should not fence its answer; some model versions do anyway.
    if text.startswith("```") and text.endswith("```"):
        inner = text[3:-3]
        return inner.removeprefix("json").strip()
    return text


def _item(raw: Any, duration: float) -> Highlight | None:
    if not isinstance(raw, dict):
        return None
    start, end = _number(raw.get("start_seconds")), _number(raw.get("end_seconds"))
    score = _number(raw.get("score"))
    if start is None or end is None or score is None:
        return None
    if start < -TIME_SLACK_SECONDS or end > duration + TIME_SLACK_SECONDS:
        return None
    start, end = max(start, 0.0), min(end, duration)
    if end - start < MIN_HIGHLIGHT_SECONDS:
        return None
    reason = raw.get("reason")
    if reason is not None and not isinstance(reason, str):
        return None
    text = " ".join(reason.split())[:MAX_REASON_CHARS] if reason else ""
    return Highlight(
        round(start, 3), round(end, 3), round(min(max(score, 0.0), 1.0), 4), text or None
    )


def parse_highlights(
    answer: dict[str, Any], duration: float, limit: int = MAX_HIGHLIGHTS
) -> ParsedAnswer:
    """The usable highlights of a generateContent answer (rules: module docstring)."""
    text, finish = _answer_text(answer)
    try:
        data = json.loads(_strip_fence(text))
    except ValueError as exc:
        if finish == "MAX_TOKENS":
            raise AnswerError("Gemini's answer was cut off (MAX_TOKENS)") from exc
        raise AnswerError("Gemini's answer was not valid JSON") from exc
    if isinstance(data, dict) and isinstance(data.get("highlights"), list):
        data = data["highlights"]
    if not isinstance(data, list):
        raise AnswerError("Gemini's answer was not a list of highlights")
    usable = [h for h in (_item(raw, duration) for raw in data) if h is not None]
    if data and not usable:
        raise AnswerError(
            f"None of the {len(data)} highlights Gemini gave fits the {duration:.1f} s video"
        )
    best: dict[tuple[float, float], Highlight] = {}
    for h in usable:
        kept = best.get((h.start, h.end))
        if kept is None or h.score > kept.score:
            best[(h.start, h.end)] = h
    ranked = sorted(best.values(), key=lambda h: (-h.score, h.start, h.end))[:limit]
    return ParsedAnswer(
        highlights=sorted(ranked, key=lambda h: (h.start, h.end)),
        given=len(data),
        dropped=len(data) - len(usable),
    )
