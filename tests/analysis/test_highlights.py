"""parse_highlights and friends: the documented rules, case by case (no network)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from editai.analysis.gemini import model_id
from editai.analysis.highlights import (
    MAX_HIGHLIGHTS,
    MAX_REASON_CHARS,
    AnswerError,
    Highlight,
    parse_highlights,
    request_body,
    token_usage,
)
from editai.analysis.proxy import proxy_scale


def answer(data: Any, finish: str = "STOP", **extra: Any) -> dict[str, Any]:
    text = data if isinstance(data, str) else json.dumps(data)
    return {
        "candidates": [
            {"content": {"parts": [{"text": text}], "role": "model"}, "finishReason": finish}
        ],
        **extra,
    }


def item(start: Any, end: Any, score: Any = 0.5, reason: Any = "why") -> dict[str, Any]:
    return {"start_seconds": start, "end_seconds": end, "score": score, "reason": reason}


def test_a_good_answer_gives_highlights_in_time_order() -> None:
    parsed = parse_highlights(answer([item(30, 40, 0.4, "b"), item(5, 12.5, 0.9, "a")]), 60.0)
    assert parsed.highlights == [Highlight(5.0, 12.5, 0.9, "a"), Highlight(30.0, 40.0, 0.4, "b")]
    assert (parsed.given, parsed.dropped) == (2, 0)


def test_an_empty_list_is_a_valid_answer() -> None:
    parsed = parse_highlights(answer([]), 60.0)
    assert parsed.highlights == []
    assert parsed.given == 0


def test_an_object_holding_highlights_is_accepted_and_fences_are_stripped() -> None:
    assert len(parse_highlights(answer({"highlights": [item(1, 2)]}), 10.0).highlights) == 1
    fenced = "```json\n" + json.dumps([item(1, 2)]) + "\n```"
    assert len(parse_highlights(answer(fenced), 10.0).highlights) == 1


def test_text_is_joined_across_parts_and_thoughts_are_skipped() -> None:
    text = json.dumps([item(1, 2)])
    body = {
        "candidates": [
            {
                "content": {
                    "parts": [
                        {"text": "thinking about it...", "thought": True},
                        {"text": text[:5]},
                        {"text": text[5:]},
                    ]
                },
                "finishReason": "STOP",
            }
        ]
    }
    assert parse_highlights(body, 10.0).highlights == [Highlight(1.0, 2.0, 0.5, "why")]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (item(0, 5, 1.5), Highlight(0.0, 5.0, 1.0, "why")),  # score clamped
        (item(0, 5, -0.2), Highlight(0.0, 5.0, 0.0, "why")),
        (item(-0.4, 5), Highlight(0.0, 5.0, 0.5, "why")),  # a little before 0: pulled in
        (item(55, 60.8), Highlight(55.0, 60.0, 0.5, "why")),  # a little past the end
        (item(1, 2, 0.5, None), Highlight(1.0, 2.0, 0.5, None)),
        (item(1, 2, 0.5, "   "), Highlight(1.0, 2.0, 0.5, None)),
        (item(1, 2, 0.5, " a\n\tb  "), Highlight(1.0, 2.0, 0.5, "a b")),
        (item(1.23456, 2.34567, 0.123456), Highlight(1.235, 2.346, 0.1235, "why")),
    ],
)
def test_items_are_normalized(raw: dict[str, Any], expected: Highlight) -> None:
    assert parse_highlights(answer([raw]), 60.0).highlights == [expected]


@pytest.mark.parametrize(
    "raw",
    [
        item(10, 5),  # backwards
        item(5, 5),  # empty
        item(5, 5.1),  # shorter than MIN_HIGHLIGHT_SECONDS
        item(-3, 5),  # well before 0
        item(50, 75),  # well past the end
        item(61.5, 70),  # starts after the end
        item("1", 5),  # a string, not a number
        item(True, 5),  # a boolean is not a number
        item(1, math.inf),
        item(1, 5, None),  # no score
        item(1, 5, "high"),
        item(1, 5, 0.5, ["a list"]),  # reason not a string
        {"start": 1, "end": 5, "score": 1},  # wrong names
        "1-5",
        None,
    ],
)
def test_bad_items_are_dropped(raw: Any) -> None:
    parsed = parse_highlights(answer([raw, item(20, 30)]), 60.0)
    assert parsed.highlights == [Highlight(20.0, 30.0, 0.5, "why")]
    assert parsed.dropped == 1


def test_nan_in_the_json_is_dropped() -> None:
    # Python's json (like some model outputs) reads NaN: not a finite number.
    text = '[{"start_seconds": NaN, "end_seconds": 5, "score": 1}, ' + json.dumps(item(1, 2)) + "]"
    parsed = parse_highlights(answer(text), 60.0)
    assert parsed.highlights == [Highlight(1.0, 2.0, 0.5, "why")]
    assert parsed.dropped == 1


def test_long_reasons_are_cut_and_duplicates_keep_the_best_score() -> None:
    parsed = parse_highlights(
        answer([item(1, 2, 0.3, "x" * 1000), item(1, 2, 0.8, "better"), item(3, 4, 0.1)]), 10.0
    )
    assert parsed.highlights == [
        Highlight(1.0, 2.0, 0.8, "better"),
        Highlight(3.0, 4.0, 0.1, "why"),
    ]
    short = parse_highlights(answer([item(1, 2, 0.3, "x" * 1000)]), 10.0).highlights[0]
    assert short.reason is not None
    assert len(short.reason) == MAX_REASON_CHARS


def test_at_most_the_best_highlights_are_kept() -> None:
    many = [item(i, i + 0.5, round(i / 100, 2)) for i in range(50)]
    parsed = parse_highlights(answer(many), 60.0)
    assert len(parsed.highlights) == MAX_HIGHLIGHTS
    assert [h.start for h in parsed.highlights] == [float(i) for i in range(30, 50)]
    assert parsed.dropped == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (answer("not json at all"), "not valid JSON"),
        (answer('[{"start_seconds": 1'), "not valid JSON"),
        (answer('[{"start_seconds": 1', "MAX_TOKENS"), "cut off (MAX_TOKENS)"),
        (answer({"moments": []}), "not a list of highlights"),
        (answer(42), "not a list of highlights"),
        (answer("", "SAFETY"), "finish reason SAFETY"),
        (answer("[]", "RECITATION"), "finish reason RECITATION"),
        ({"candidates": []}, "no answer"),
        ({}, "no answer"),
        ({"promptFeedback": {"blockReason": "SAFETY"}}, "blocked the request (SAFETY)"),
        (answer([item(100, 110), item(-50, -40)]), "None of the 2 highlights"),
    ],
)
def test_unusable_answers_raise(body: dict[str, Any], message: str) -> None:
    with pytest.raises(AnswerError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_highlights(body, 60.0)


def test_token_usage_counts_thinking_as_output() -> None:
    usage = {"promptTokenCount": 1000, "candidatesTokenCount": 20, "thoughtsTokenCount": 5}
    assert token_usage({"usageMetadata": usage}) == (1000, 25)
    assert token_usage({"usageMetadata": {"promptTokenCount": 7}}) == (7, 0)
    assert token_usage({"usageMetadata": {"promptTokenCount": "many"}}) == (0, 0)
    assert token_usage({}) is None


def test_the_request_asks_for_json_about_the_uploaded_file() -> None:
    body = request_body("https://g.example/v1beta/files/abc", "video/mp4", 75.25)
    parts = body["contents"][0]["parts"]
    assert parts[0] == {
        "file_data": {"mime_type": "video/mp4", "file_uri": "https://g.example/v1beta/files/abc"}
    }
    assert "75.2 seconds" in parts[1]["text"] or "75.3 seconds" in parts[1]["text"]
    config = body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    schema = config["responseSchema"]["items"]
    assert set(schema["required"]) == {"start_seconds", "end_seconds", "score", "reason"}


def test_model_names_cannot_escape_the_path() -> None:
    assert model_id("gemini-2.5-flash") == "gemini-2.5-flash"
    assert model_id("models/gemini-2.5-pro") == "gemini-2.5-pro"
    for bad in ("../files/x", "gemini/../../x", "a b", "", "x?key=1", "x:generateContent"):
        with pytest.raises(ValueError, match="not a Gemini model name"):
            model_id(bad)


@pytest.mark.parametrize(
    ("size", "scale"),
    [
        ((1920, 1080), (-2, 360)),
        ((1080, 1920), (360, -2)),
        ((640, 360), (-2, 360)),
        ((320, 240), (-2, 240)),  # never upscaled
        ((321, 179), (-2, 178)),  # even
        ((0, 0), (-2, 360)),  # unknown size
    ],
)
def test_the_proxy_keeps_the_short_side_at_most_360(
    size: tuple[int, int], scale: tuple[int, int]
) -> None:
    assert proxy_scale(*size) == scale
