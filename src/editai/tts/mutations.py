from __future__ import annotations

import strawberry


@strawberry.type
class TtsMutation:
    pass
