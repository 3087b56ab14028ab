"""Page furniture in a crawled article body: text that is on the page but is not the article.

Crawled news bodies carry, between and after the article's own sentences:

* **related links**: another article's title in brackets, inline ("… cởi mở.  [Nhật Bản
  công bố sáng kiến tăng hợp tác quốc phòng với ASEAN]  Theo Bộ Ngoại giao …"), sometimes
  behind a media tag ("[Video] …", "[VIDEO]: TIÊU ĐỀ IN HOA"), and "Bấm xem ngay >>";
* **photo credits**: "Ảnh: Reuters.", "(Ảnh: Trần Long/Vietnam+)", "Ảnh minh họa.",
  "Tin, ảnh: VĂN PHONG", "Ảnh do … cung cấp";
* **source lines**: "Nguồn: Báo An ninh Thủ đô.", "(Nguồn: TTXVN)", and a closing
  "Theo VnExpress" / "(Theo An ninh Thế giới)";
* **bylines**: the reporter's name alone after the last sentence ("… điều tra, làm rõ.
  Chí Công", "PV", "Ngọc Minh (tổng hợp) Thanh Niên").

:func:`find_furniture` returns these as spans of the stored text, which stays as it is
(offsets never move); :func:`retrieval.articles.sentences.split_sentences` cuts sentences at their
edges and leaves them out, so furniture is never indexed and never quoted.

The rules are written to miss rather than to over-reach: a bracket must stand where a
sentence starts and hold a capitalised title of three or more words (so "giữa họ [OPEC và
Nga]", "USD [3,4]" and "Ông [Putin] là" are prose), and a byline must come after the
article's last sentence end and be made of capitalised words ("Theo kế hoạch, …" is prose).

    >>> [(f.kind.value, text[f.start:f.end]) for f in find_furniture(text)]
    [('related_link', '[Nhật Bản công bố sáng kiến tăng hợp tác quốc phòng với ASEAN]'), ...]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from retrieval.articles.corpus import paragraphs

__all__ = ["Furniture", "FurnitureKind", "find_furniture"]


class FurnitureKind(StrEnum):
    RELATED_LINK = "related_link"
    PHOTO_CREDIT = "photo_credit"
    BYLINE = "byline"
    SOURCE_LINE = "source_line"


@dataclass(frozen=True)
class Furniture:
    """``text[start:end]`` is page furniture of the given kind."""

    start: int
    end: int
    kind: FurnitureKind


_CLOSERS = "\"'”’»)]"
_OPENERS = "\"'“‘«(["
_TERMINALS = ".!?…"

# ----------------------------------------------------------------------------- related links

_MEDIA_TAG = r"(?:video|clip|ảnh|photo|infographic|trực\s+tiếp|emagazine|mega\s*story|audio)"
# An article title in brackets; an optional media tag inside ("[[Photo] Title]").
_BRACKETED_TITLE = re.compile(rf"\[(?:\[{_MEDIA_TAG}\]\s*)?(?P<title>[^\[\]\n]{{8,250}})\]", re.IGNORECASE)
# A media tag before the title, the closing bracket after it ("[Video] Title]").
_TAGGED_TITLE = re.compile(rf"\[{_MEDIA_TAG}\]\s*(?P<title>[^\[\]\n]{{8,250}})\]", re.IGNORECASE)
# A media tag alone, then maybe ": AN UPPER-CASE TITLE" ("[VIDEO]: HLV HỮU THẮNG PHÁT BIỂU").
_MEDIA_LINK = re.compile(rf"\[{_MEDIA_TAG}\]:?", re.IGNORECASE)
# Where a title after a media tag ends: a double space, its own "?" or "!", a " - " before a credit.
_TITLE_EDGE = re.compile(r"\s{2}|[?!](?=\s|$)|\s[-–]\s")
_MAX_TAGGED_TITLE_CHARS = 160
_MORE_LINK = re.compile(r"bấm\s+xem(?:\s+ngay)?\s*>>", re.IGNORECASE)
_MIN_TITLE_WORDS = 3

# ----------------------------------------------------------------------------- credits and sources

_MINH_HOA = r"minh\s+h(?:ọa|oạ)"
# A parenthesised credit anywhere: "(Ảnh: Reuters)", "(ảnh minh họa)", "(Nguồn ảnh: Sina)".
_PAREN_PHOTO = re.compile(
    rf"\(\s*(?:nguồn\s+)?ảnh(?:\s*:|\s+{_MINH_HOA}|\s+do\s|\s+(?:tư\s+liệu|internet|chụp\s+màn\s+hình))[^()\n]{{0,80}}\)",
    re.IGNORECASE,
)
_PAREN_SOURCE = re.compile(r"\(\s*nguồn\s*:[^()\n]{1,80}\)", re.IGNORECASE)
# Where a credit starts a sentence: its lead-in; the credited name follows (see _credit_end).
_PHOTO_LEAD = re.compile(
    rf"(?:(?:tin|bài)\s*(?:,|và|-|&)\s*(?:ảnh|video)\s*(?:,\s*video\s*)?:"
    rf"|(?:nguồn\s+)?ảnh(?:\s+{_MINH_HOA})?\s*:"
    rf"|ảnh\s+sử\s+dụng\s+trong\s+bài\s*:"
    rf"|ảnh\s+{_MINH_HOA}\.?)",
    re.IGNORECASE,
)
_PHOTO_GIVEN_BY = re.compile(r"ảnh\s+do\s[^.\n]{2,80}?\bcung\s+cấp\.?", re.IGNORECASE)
_SOURCE_LEAD = re.compile(r"nguồn(?:\s+tham\s+khảo)?\s*:", re.IGNORECASE)

#: The most words a credited name or a byline is given.
_MAX_CREDIT_WORDS = 6
_MAX_BYLINE_WORDS = 10
_MAX_BYLINE_CHARS = 90
# Words that start a new sentence after a credit that has no full stop of its own
# ("Ảnh: An Bình Theo nhân chứng, …").
_SENTENCE_STARTERS = frozenset(
    """theo trong sau ngay tại khi ông bà các những chiều sáng tối trưa trước đây hôm năm từ với
    để trên dưới dù mặc nhưng tuy vì do nếu cụ hiện riêng ngoài tuần tháng người nhiều đến qua
    phó thủ bộ chủ tổng giám bí lãnh cảnh vị""".split()
)
# Lower-case words that belong to a credit ("Ảnh: Tư liệu", "Ảnh: TTXVN phát", "Ảnh: Tuổi trẻ",
# "Nguồn: Thể thao 247", "Ảnh: Báo Khoa học và Phát triển").
_CREDIT_LOWER = frozenset(
    """tư liệu internet sưu tầm phát minh họa hoạ chụp màn hình và
    trẻ trí thao sống khỏe khoẻ dục động phong niên luật tức nữ học""".split()
)
# Lower-case words a byline may hold ("Công Danh (tổng hợp theo báo Thanh Niên)", "Bấm xem ngay >> Q.D").
_BYLINE_LOWER = frozenset(
    """theo tổng hợp t th h lược dịch nguồn tham khảo bài ảnh video clip và tin xem ngay bấm báo từ
    thực hiện biên tập phóng viên nhóm pv ctv""".split()
)
_SOURCE_WORDS = frozenset({"theo", "nguồn"})
_WORD = re.compile(r"\w+")
_TOKEN = re.compile(r"\S+")
_SENTENCE_END = re.compile(rf"[{_TERMINALS}]+[{re.escape(_CLOSERS)}]*\s+")


def _at_sentence_start(text: str, pos: int, para_start: int) -> bool:
    """Whether ``pos`` starts a sentence: the paragraph start, or after terminal punctuation,
    a colon, a closing quote or bracket (and whitespace)."""
    i = pos
    while i > para_start and text[i - 1].isspace():
        i -= 1
    return i == para_start or text[i - 1] in _TERMINALS + ":>»" + _CLOSERS


def _starts_sentence_after(text: str, pos: int, para_end: int) -> bool:
    """Whether the text after ``pos`` (whitespace skipped) starts a new sentence or ends the paragraph."""
    i = pos
    while i < para_end and text[i].isspace():
        i += 1
    if i >= para_end:
        return True
    ch = text[i]
    return ch.isupper() or ch.isdigit() or ch in _OPENERS + "“-–•>"


def _is_title(title: str) -> bool:
    title = title.strip()
    words = [w for w in title.split() if _WORD.search(w)]
    first = title.lstrip("\"'“‘«(")[:1]
    return (
        len(words) >= _MIN_TITLE_WORDS
        and bool(first)
        and (first.isupper() or first.isdigit())
        and not (title.endswith(".") and not title.endswith(".."))
    )


def _set_apart(text: str, pos: int, start: int) -> bool:
    """Whether ``pos`` has two or more spaces before it: the crawl sets link titles apart so."""
    return pos - start >= 2 and text[pos - 2 : pos].isspace()


def _related_links(text: str, start: int, end: int) -> list[Furniture]:
    found: list[Furniture] = []
    for pattern in (_BRACKETED_TITLE, _TAGGED_TITLE):
        for match in pattern.finditer(text, start, end):
            if (
                _is_title(match["title"])
                and (_at_sentence_start(text, match.start(), start) or _set_apart(text, match.start(), start))
                and _starts_sentence_after(text, match.end(), end)
            ):
                found.append(Furniture(match.start(), match.end(), FurnitureKind.RELATED_LINK))
    for match in _MEDIA_LINK.finditer(text, start, end):  # a media tag is furniture wherever it stands
        stop = match.end()
        # "[VIDEO]: HLV HỮU THẮNG PHÁT BIỂU SAU TRẬN ĐẤU Theo HLV …": the upper-case title goes too.
        tokens = list(_TOKEN.finditer(text, stop, end))
        caps = 0
        for token in tokens:
            letters = [ch for ch in token.group() if ch.isalpha()]
            if letters and not all(ch.isupper() for ch in letters):
                break
            caps += 1
        if caps >= 2:
            stop = tokens[caps - 1].end()
        else:
            # "[Video] Title  Next sentence", "[VIDEO] Title? Next", "[VIDEO] Title - Thực hiện: …":
            # the title goes too where the page marks its end; else the tag alone.
            window = text[stop : min(end, stop + _MAX_TAGGED_TITLE_CHARS)]
            edge = _TITLE_EDGE.search(window)
            if edge is not None and _is_title(window[: edge.start()]):
                stop += edge.start() + (1 if edge.group()[0] in "?!" else 0)
        found.append(Furniture(match.start(), stop, FurnitureKind.RELATED_LINK))
    for match in _MORE_LINK.finditer(text, start, end):
        if _at_sentence_start(text, match.start(), start):
            found.append(Furniture(match.start(), match.end(), FurnitureKind.RELATED_LINK))
    return [_with_arrow(text, f, start) for f in found]


_ARROW = re.compile(r"(?:>>|->|=>|»|(?:xem|đọc)\s+thêm\s*:|tin\s+liên\s+quan\s*:)\s*$", re.IGNORECASE)


def _with_arrow(text: str, link: Furniture, start: int) -> Furniture:
    """The link with the arrow or words that point at it (">> [Infographic] …", "Xem thêm: [Title]")."""
    arrow = _ARROW.search(text, max(start, link.start - 20), link.start)
    return Furniture(arrow.start(), link.end, link.kind) if arrow else link


def _style(token: str) -> str:
    """The token's letter case: "upper" (REUTERS, T.LINH), "title" (Reuters, VnExpress), "lower",
    or "other" (no letters)."""
    letters = [ch for ch in token if ch.isalpha()]
    if not letters:
        return "other"
    if all(ch.isupper() for ch in letters):
        return "upper"
    return "title" if letters[0].isupper() else "lower"


# Vietnamese initials of more than one letter ("Ng. Văn A", "Th.S").
_INITIALS = frozenset("ng nh th tr ph kh ch gs ts ths pgs bs".split())


def _is_initial(token: str) -> bool:
    """Whether the token is an initial or a short upper-case abbreviation ("V.", "C.", "Ng.",
    "TP."), whose dot does not end a sentence."""
    core = token.rstrip(".")
    if not token.endswith(".") or not core[:1].isupper():
        return False
    return len(core) == 1 or (core.isupper() and len(core) <= 3) or core.lower() in _INITIALS


def _credit_end(text: str, pos: int, para_end: int) -> int:
    """Where the credited name that starts at ``pos`` ends ("Ảnh: <name>").

    The name ends at its own full stop, at a quote or bracket that opens the next sentence,
    before a word that typically starts a sentence, or (when the next sentence follows with
    no punctuation) where the letters change case ("Ảnh: REUTERS Người hòa giải …") or else
    one word before the first lower-case word ("Ảnh: Viết Thành Đề cao …").
    """
    tokens = list(_TOKEN.finditer(text, pos, para_end))[: 2 * _MAX_CREDIT_WORDS]
    kept: list[re.Match[str]] = []
    ran_into_lower = False
    for i, token in enumerate(tokens):
        word = token.group()
        bare = word.strip(_OPENERS + _CLOSERS + ",;")
        if len(kept) >= _MAX_CREDIT_WORDS:
            ran_into_lower = True
            break
        if word[0] in '"“‘«(':
            break
        style = "other" if bare[:1].isdigit() else _style(bare)  # "Nguồn: 24h."
        if style == "lower" and bare.lower() not in _CREDIT_LOWER:
            if len(kept) == 1:
                # No sentence starts in lower case, so after a one-word name the words go on
                # naming it up to its full stop: "Ảnh: Cơ quan điều tra cung cấp.", "Flickr/Hải quân Mỹ."
                stop = _full_stop_within(tokens[i : i + _LOOKAHEAD_WORDS])
                if stop is not None:
                    return stop
            ran_into_lower = True
            break
        if kept and bare.lower() in _SENTENCE_STARTERS and style == "title":
            break
        kept.append(token)
        if word == "." or (word.endswith(tuple(_TERMINALS)) and not _is_initial(word)):
            return token.end()
        if "/" in word.strip("/") and _style(word.rsplit("/", 1)[1]) == "upper":
            # "Doãn Tấn/TTXVN": an agency after the slash closes the credit.
            return token.end()
    if ran_into_lower and len(kept) >= 2:
        styles = [_style(t.group().strip(_OPENERS + _CLOSERS + ",;")) for t in kept]
        cut = next(
            (
                i
                for i in range(1, len(kept))
                if (styles[i - 1], styles[i]) == ("upper", "title") and not _is_initial(kept[i - 1].group())
            ),
            len(kept) - 1,
        )
        kept = kept[:cut]
    if not kept:
        return pos
    return kept[-1].end()


_LOOKAHEAD_WORDS = 5


def _full_stop_within(tokens: list[re.Match[str]]) -> int | None:
    """The end of the first token that ends a sentence, if no clause mark or quote comes first."""
    for token in tokens:
        word = token.group()
        if word[0] in _OPENERS or any(mark in word for mark in ",;:"):
            return None
        if word.endswith(tuple(_TERMINALS)) and not _is_initial(word):
            return token.end()
    return None


def _credits(text: str, start: int, end: int) -> list[Furniture]:
    found: list[Furniture] = []
    for pattern, kind in ((_PAREN_PHOTO, FurnitureKind.PHOTO_CREDIT), (_PAREN_SOURCE, FurnitureKind.SOURCE_LINE)):
        for match in pattern.finditer(text, start, end):
            found.append(Furniture(match.start(), match.end(), kind))
    for match in _PHOTO_GIVEN_BY.finditer(text, start, end):
        if _at_sentence_start(text, match.start(), start):
            found.append(Furniture(match.start(), match.end(), FurnitureKind.PHOTO_CREDIT))
    for pattern, kind in ((_PHOTO_LEAD, FurnitureKind.PHOTO_CREDIT), (_SOURCE_LEAD, FurnitureKind.SOURCE_LINE)):
        for match in pattern.finditer(text, start, end):
            if not _at_sentence_start(text, match.start(), start):
                continue
            # "Ảnh minh họa" with no colon: the lead-in is the whole credit.
            named = match.group().endswith(":")
            stop = max(match.end(), _credit_end(text, match.end(), end)) if named else match.end()
            found.append(Furniture(match.start(), stop, kind))
    return found


_DOMAIN = re.compile(r"[(\[]?[\w-]+(?:\.[\w-]+)+[)\]]?[,.]?")


def _byline_words(tail: str) -> list[str]:
    """The words of a closing line; a web address ("(congan.com.vn)") counts as one name."""
    words: list[str] = []
    for token in tail.split():
        words.extend(["Domain"] if _DOMAIN.fullmatch(token) else _WORD.findall(token))
    return words


def _closing_line(text: str, start: int, end: int, after: int) -> Furniture | None:
    """A byline or "Theo <source>" after the last sentence of the article's last paragraph
    (and after ``after``, the end of the paragraph's last other furniture)."""
    body_end = end
    while body_end > start and text[body_end - 1] in "./":  # "Theo TTXVN." and the wire's "./."
        body_end -= 1
    tail_start = start
    for match in _SENTENCE_END.finditer(text, start, body_end):
        word_start = text.rfind(" ", start, match.start()) + 1
        if _is_initial(text[word_start : match.end()].strip()):
            continue  # "… tại chỗ. C. Nguyên": the initial's dot ends nothing
        tail_start = match.end()
    if after > tail_start:
        tail_start = after
        while tail_start < end and text[tail_start].isspace():
            tail_start += 1
    tail = text[tail_start:end]
    words = _byline_words(tail)
    if not words or len(words) > _MAX_BYLINE_WORDS or len(tail) > _MAX_BYLINE_CHARS or tail_start == 0:
        return None
    source_mode = False
    capitalised = 0
    for previous, word in zip(["", *words], words, strict=False):
        lower = word.lower()
        if lower in _SOURCE_WORDS:
            source_mode = True
            continue
        if word[0].isupper() or word[0].isdigit():
            capitalised += word[0].isupper()
            continue
        if source_mode and previous.lower() not in _SOURCE_WORDS:
            continue  # a source's own name may hold lower-case words: "Theo Đời sống Plus"
        if lower not in _BYLINE_LOWER:
            return None
    if not capitalised:
        return None
    kind = FurnitureKind.SOURCE_LINE if words[0].lower() in _SOURCE_WORDS else FurnitureKind.BYLINE
    return Furniture(tail_start, end, kind)


def _merge(spans: list[Furniture]) -> list[Furniture]:
    """Sorted, non-overlapping: an overlap is joined into one span, the earlier span's kind kept."""
    merged: list[Furniture] = []
    for span in sorted(spans, key=lambda f: (f.start, -f.end)):
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            merged[-1] = Furniture(last.start, max(last.end, span.end), last.kind)
        else:
            merged.append(span)
    return merged


def find_furniture(text: str) -> list[Furniture]:
    """The page furniture of an article body, as sorted, non-overlapping spans of ``text``."""
    spans: list[Furniture] = []
    paras = paragraphs(text)
    for number, para in enumerate(paras):
        spans.extend(_related_links(text, para.start, para.end))
        spans.extend(_credits(text, para.start, para.end))
        if number == len(paras) - 1:
            inside = [f.end for f in spans if para.start <= f.start < para.end]
            closing = _closing_line(text, para.start, para.end, max(inside, default=para.start))
            if closing is not None:
                spans.append(closing)
    return [f for f in _merge(spans) if f.end > f.start]
