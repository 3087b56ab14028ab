"""What the state store's tests keep and read back (both backends, and the import from one
into the other): a cited sentence, and the chats and users it is shown to."""

from __future__ import annotations

from retrieval.models import Citation

CITATION = Citation(
    article_id="2019-10-05-tang-cuong-va-mo-rong-hop-tac-toan-dien-hai-duong-bac-giang",
    title="Tăng cường và mở rộng hợp tác toàn diện Hải Dương - Bắc Giang",
    published="2019-10-05",
    source="Báo Hải Dương",
    url=None,
    sentence="Cầu Đồng Việt bắc qua sông Thái Bình.",
    start=120,
    end=157,
    score=0.81,
)
GROUP, SUPERGROUP, LAN, MAI = -100, -1001234567890, 7, 8  # supergroup ids pass 2**32
LATER = 10**12  # a moment after every retry delay
