from __future__ import annotations

from datetime import datetime

import strawberry

from editai.segments.models import Segment as SegmentModel
from editai.segments.models import SegmentKind as SegmentKindValue

strawberry.enum(SegmentKindValue, name="SegmentKind")
SegmentKind = SegmentKindValue


@strawberry.type(
    description="A span of the source video: a scene, speech, silence or a picked highlight."
)
class Segment:
    id: strawberry.ID
    kind: SegmentKind
    start_seconds: float
    end_seconds: float
    score: float
    label: str | None = strawberry.field(
        description="Why it was picked, in the analyzer's words (HIGHLIGHT); null otherwise."
    )
    created_at: datetime

    @classmethod
    def from_model(cls, m: SegmentModel) -> Segment:
        return cls(
            id=strawberry.ID(str(m.id)),
            kind=SegmentKind(m.kind),
            start_seconds=m.start_seconds,
            end_seconds=m.end_seconds,
            score=m.score,
            label=m.label,
            created_at=m.created_at,
        )
