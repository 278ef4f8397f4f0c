"""FFmpeg filter graphs for framed clips (pure: strings only).

* CROP: ``crop`` with its offset along the path's axis given as an expression of ``t``
  (crop evaluates x and y for every frame). The piecewise-linear path is a flat sum,
  ``v0 + dv1*clip((t-t0)/d1,0,1) + ...``, and a jump at a cut is ``dv*gte(t,c)``: no
  nesting, so a long path only makes a long expression (moved to a filter script file).
* FIT_BLUR: the whole frame scaled to fit the output, over a copy of itself scaled to fill
  it, blurred (the blur runs at 1/8 size, then scales up: cheap and smooth).
* Both, when only some shots need FIT_BLUR: the FIT_BLUR picture is laid over the crop
  with ``enable`` during those shots.

Timing filters are never used (no trim, no concat): every input frame gives one output
frame at the same time, so the clip keeps its exact length and its audio stays in sync.
"""

from __future__ import annotations

from collections.abc import Sequence

from editai.reframe.path import CropPath

BLUR_SHRINK = 8
OUTPUT = "framed"


def _number(value: float) -> str:
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def offset_expression(path: CropPath) -> str:
    """The crop offset along ``path.axis`` as an FFmpeg expression of ``t``."""
    # A FIT_BLUR shot's crop is hidden under its overlay: its (still, centred) points fit.
    points = [point for shot in path.shots for point in shot.points]
    terms = [_number(points[0][1])]
    (prev_t, prev_v) = points[0]
    for t, v in points[1:]:
        change = v - prev_v
        if abs(change) >= 0.005:
            sign = "+" if change > 0 else "-"
            size = _number(abs(change))
            if t - prev_t <= 1e-6:
                terms.append(f"{sign}{size}*gte(t,{_number(t)})")
            else:
                ramp = f"clip((t-{_number(prev_t)})/{_number(t - prev_t)},0,1)"
                terms.append(f"{sign}{size}*{ramp}")
        prev_t, prev_v = t, v
    return "".join(terms)


def fit_blur_chain(source: str, target: str, width: int, height: int) -> str:
    """``[source]`` -> ``[target]``: the whole frame over its own blurred, filled copy."""
    small_w = max(2, width // BLUR_SHRINK // 2 * 2)
    small_h = max(2, height // BLUR_SHRINK // 2 * 2)
    radius = max(1, min(4, min(small_w, small_h) // 4))
    return (
        f"[{source}]split=2[{target}_bg][{target}_fg];"
        f"[{target}_bg]scale={small_w}:{small_h}:force_original_aspect_ratio=increase,"
        f"crop={small_w}:{small_h},boxblur={radius}:2,scale={width}:{height},setsar=1"
        f"[{target}_blur];"
        f"[{target}_fg]scale={width}:{height}:force_original_aspect_ratio=decrease:"
        f"force_divisible_by=2,setsar=1[{target}_fit];"
        f"[{target}_blur][{target}_fit]overlay=x=(W-w)/2:y=(H-h)/2[{target}]"
    )


def crop_chain(source: str, target: str, path: CropPath) -> str:
    moving = f"'{offset_expression(path)}'"
    x, y = (
        (moving, str(path.fixed_offset)) if path.axis == "x" else (str(path.fixed_offset), moving)
    )
    return f"[{source}]crop=w={path.width}:h={path.height}:x={x}:y={y},setsar=1[{target}]"


def _during(spans: Sequence[tuple[float, float]]) -> str:
    return "+".join(f"gte(t,{_number(a)})*lt(t,{_number(b)})" for a, b in spans)


def framing_graph(path: CropPath) -> str:
    """The filter graph from the first input's video to ``[framed]``."""
    blurred = [(s.start, s.end) for s in path.shots if s.mode == "FIT_BLUR"]
    if len(blurred) == len(path.shots):
        return fit_blur_chain("0:v:0", OUTPUT, path.width, path.height)
    if not blurred:
        return crop_chain("0:v:0", OUTPUT, path)
    # The last shot runs to the clip's end: its span must hold every later frame too.
    spans = [(a, b if b < path.shots[-1].end else 1e9) for a, b in blurred]
    return (
        "[0:v:0]split=2[crop_in][blur_in];"
        + crop_chain("crop_in", "cropped", path)
        + ";"
        + fit_blur_chain("blur_in", "fitted", path.width, path.height)
        + f";[cropped][fitted]overlay=x=0:y=0:enable='{_during(spans)}'[{OUTPUT}]"
    )
