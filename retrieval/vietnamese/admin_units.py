"""The 2025 administrative map: which pre-2025 units a 2025 unit took in, and back.

Since 1 July 2025 Vietnam has 34 provincial units and no district level: Hải Dương is part
of Hải Phòng city, Bắc Giang of Bắc Ninh province, every huyện, quận, thị xã and district-level
thành phố is gone. The map is read once from the ``vietnamadminunits`` package (its 63-province
table, and its converter for each old province's 2025 successor), never typed by hand:

    names = admin_map()
    names.related_names(("hải", "phòng"))       # [("hải", "dương")]: its predecessor
    names.mentions("... huyện Yên Dũng (Bắc Giang) và TP Chí Linh (Hải Dương) ...")
    unit_notes(sentence, published)            # ("huyện Yên Dũng nay thuộc tỉnh Bắc Ninh", ...)

In news text a province-level reading wins: the package reads "Hải Dương" alone as the 2025
ward Phường Hải Dương; here a bare name is the old province, and only "phường"/"xã" before a
name makes it something else (which is then left alone). District names are recognised only
with their type before them ("huyện Yên Dũng", "TP Chí Linh"): bare, too many are also
ordinary words or people's names.

Every district-level unit was abolished in 2025, so each one named gets a note, also where
its province kept its name; where the package's converter shows few 2025 wards and communes
taking in its area, the note names them ("TP Tam Điệp nay thuộc tỉnh Ninh Bình: các phường
Tam Điệp, Trung Sơn, Yên Sơn, Yên Thắng").
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from retrieval.vietnamese.text import fold, nfc, normalise_word

#: The day the 34-unit map took effect.
REFORM_DATE = datetime(2025, 7, 1, tzinfo=UTC)

Words = tuple[str, ...]

_WORD = re.compile(r"[^\W_]+", re.UNICODE)

#: How a unit's type is written before its name in news text (normalised words), by level.
_PROVINCE_TYPES: dict[str, tuple[Words, ...]] = {
    "tỉnh": (("tỉnh",),),
    "thành phố": (("thành", "phố"), ("tp",)),
}
_DISTRICT_TYPES: dict[str, tuple[Words, ...]] = {
    "huyện": (("huyện",),),
    "quận": (("quận",),),
    "thị xã": (("thị", "xã"), ("tx",)),
    "thành phố": (("thành", "phố"), ("tp",)),
}
#: A word before a bare name that makes it something other than the province: a ward or
#: commune of the 2025 map ("phường Hải Dương"), a river, a bridge, a street, a newspaper...
_NOT_PROVINCE_BEFORE = frozenset(
    """phường xã trấn thôn làng bản ấp khu sông cầu đường phố núi hồ đèo vịnh biển đảo chùa đền chợ bến
    cảng ga báo đài""".split()
)
#: Longer names that contain an old province's name but are not about it.
_FALSE_FRIENDS: tuple[Words, ...] = (("thái", "bình", "dương"),)

_SHORT_TYPE = {"thành phố": "TP", "tỉnh": "tỉnh", "huyện": "huyện", "quận": "quận", "thị xã": "thị xã"}
#: How the package's district keywords ("huyenyendung") start, by district type.
_KEY_PREFIX = {"huyện": "huyen", "quận": "quan", "thị xã": "thixa", "thành phố": "thanhpho"}
#: A district's note names the 2025 wards and communes that took in its area when there are
#: at most this many; otherwise only its 2025 province.
WARDS_NAMED = 5


def words_of(text: str) -> list[str]:
    """The normalised words of ``text`` (as the lexical analyzer sees them)."""
    return [normalise_word(w) for w in _WORD.findall(nfc(text))]


@dataclass(frozen=True)
class Province:
    """A pre-2025 province-level unit and its 2025 successor (itself where it kept its name)."""

    name: str  # "Hải Dương"
    kind: str  # "tỉnh" or "thành phố"
    successor: str  # "Hải Phòng"
    successor_kind: str

    @property
    def merged(self) -> bool:
        return self.successor != self.name

    @property
    def now(self) -> str:
        return f"{_SHORT_TYPE[self.successor_kind]} {self.successor}"


@dataclass(frozen=True)
class District:
    """A pre-2025 district-level unit (abolished in 2025) and the 2025 province it now lies in."""

    name: str  # "Chí Linh"
    kind: str  # "huyện", "quận", "thị xã" or "thành phố"
    province: str  # pre-2025: "Hải Dương"
    successor: str  # 2025: "Hải Phòng"
    successor_kind: str
    #: The package's keys for it: its type and name folded and joined ("thanhphochilinh"), and
    #: those of districts merged into it before 2025 ("huyenyendung" for TP Bắc Giang).
    keys: tuple[str, ...] = ()
    own_key: str = ""
    #: The 2025 wards and communes its area now lies in, as (type, name) pairs
    #: (("phường", "Tam Điệp"), ...); empty where they are more than :data:`WARDS_NAMED`.
    wards: tuple[tuple[str, str], ...] = ()

    @property
    def now(self) -> str:
        return f"{_SHORT_TYPE[self.successor_kind]} {self.successor}"


@dataclass(frozen=True)
class Mention:
    """Where a pre-2025 unit is named in a text: ``text[start:end]`` (its type included if written)."""

    start: int
    end: int
    unit: Province | District
    name: str  # as written, without its type: "Yên Dũng"
    kind: str  # the type it was named with ("huyện"), or "" where bare

    def note(self) -> str:
        """What the unit is now, on one line: "Hải Dương nay thuộc TP Hải Phòng", "TP Tam Điệp
        nay thuộc tỉnh Ninh Bình: các phường Tam Điệp, …" (the wards only where the name
        written is the district's own, not that of one merged into it before 2025)."""
        if isinstance(self.unit, Province):
            return f"{self.unit.name} nay thuộc {self.unit.now}"
        key = _KEY_PREFIX[self.kind] + "".join(fold(w) for w in words_of(self.name))
        wards = self.unit.wards if key == self.unit.own_key else ()
        where = f"{self.unit.now}: {_listed(wards)}" if wards else self.unit.now
        return f"{_SHORT_TYPE[self.kind]} {self.name} nay thuộc {where}"


def _listed(wards: Sequence[tuple[str, str]]) -> str:
    """(("phường", "A"), ("phường", "B"), ("xã", "C")) -> "các phường A, B và xã C"."""
    parts = []
    for kind in dict.fromkeys(kind for kind, _ in wards):
        names = [name for k, name in wards if k == kind]
        parts.append(f"{kind} {names[0]}" if len(names) == 1 else f"các {kind} {', '.join(names)}")
    return " và ".join(parts)


@dataclass(frozen=True)
class NameMatch:
    """A province-level name found in a word sequence: ``words[start:end]`` and its related names."""

    start: int
    end: int
    related: tuple[Words, ...]  # as the question was typed: folded where it was


class AdminMap:
    """Pre-2025 provinces and districts, their 2025 successors, and name lookups both ways."""

    def __init__(self, provinces: Sequence[Province], districts: Sequence[District]) -> None:
        self.provinces = {p.name: p for p in provinces}
        self._province_words: dict[Words, Province] = {tuple(words_of(p.name)): p for p in provinces}
        self._folded_province: dict[Words, list[Province]] = {}
        for key, province in self._province_words.items():
            self._folded_province.setdefault(tuple(fold(w) for w in key), []).append(province)
        # 2025 province -> its pre-2025 predecessors (itself included where it kept its name).
        self.predecessors: dict[str, list[str]] = {}
        for p in provinces:
            self.predecessors.setdefault(p.successor, []).append(p.name)
        # key ("huyenyendung") -> district; a key two provinces used is ambiguous: kept only if
        # both now lie in the same 2025 province.
        grouped: dict[str, list[District]] = {}
        for d in districts:
            for district_key in d.keys:
                grouped.setdefault(district_key, []).append(d)
        self._districts = {
            key: _one_of(group) for key, group in grouped.items() if len({d.successor for d in group}) == 1
        }
        self._longest = max((len(k) for k in self._province_words), default=1)
        self._longest_district = max((len(words_of(d.name)) for d in districts), default=1) + 1

    # -- query side: names -> related names ----------------------------------------------

    def related_names(self, name: Words) -> list[Words]:
        """The names a question naming ``name`` (a province, old or new) should also find: a
        merged province's successor, a 2025 province's other predecessors."""
        return [tuple(words_of(n)) for n in self._related(name)]

    def _related(self, name: Words) -> list[str]:
        province = self._province_words.get(name)
        if province is None:
            return []
        related: list[str] = []
        if province.merged:
            related.append(province.successor)
        related.extend(n for n in self.predecessors.get(province.name, []) if n != province.name)
        return list(dict.fromkeys(related))

    def find_names(self, words: Sequence[str], folded: bool = False) -> list[NameMatch]:
        """Province-level names in a question's normalised ``words`` that have related names,
        longest first, left to right; ``folded``: the words were typed without diacritics."""
        keys = [fold(w) for w in words] if folded else list(words)
        matches: list[NameMatch] = []
        i = 0
        while i < len(keys):
            found: NameMatch | None = None
            for n in range(min(self._longest, len(keys) - i), 1, -1):
                key = tuple(keys[i : i + n])
                candidates = self._folded_province.get(key, []) if folded else self._province_lookup(key)
                if len(candidates) != 1 or self._false_friend(keys, i, n, folded):
                    continue
                names = self._related(tuple(words_of(candidates[0].name)))
                if names:
                    related = [tuple(fold(w) if folded else w for w in words_of(r)) for r in names]
                    found = NameMatch(i, i + n, tuple(related))
                break
            if found:
                matches.append(found)
                i = found.end
            else:
                i += 1
        return matches

    def _province_lookup(self, key: Words) -> list[Province]:
        province = self._province_words.get(key)
        return [province] if province else []

    @staticmethod
    def _false_friend(keys: Sequence[str], i: int, n: int, folded: bool) -> bool:
        for friend in _FALSE_FRIENDS:
            friend_keys = [fold(w) for w in friend] if folded else list(friend)
            for start in range(max(0, i + n - len(friend)), i + 1):
                if list(keys[start : start + len(friend)]) == friend_keys:
                    return True
        return False

    def province_named(self, text: str) -> Province | None:
        """The province-level unit, pre-2025 or 2025, that ``text`` names and nothing more, its
        type optional ("Hải Phòng", "TP Hải Phòng", "hai phong": diacritics may be left out)."""
        words = words_of(text)
        folded = [fold(w) for w in words]
        for spellings in _PROVINCE_TYPES.values():
            for spelling in spellings:
                if len(words) > len(spelling) and folded[: len(spelling)] == [fold(w) for w in spelling]:
                    words, folded = words[len(spelling) :], folded[len(spelling) :]
                    break
        exact = self._province_words.get(tuple(words))
        if exact is not None:
            return exact
        candidates = self._folded_province.get(tuple(folded), [])
        return candidates[0] if len(candidates) == 1 else None

    # -- citation side: units named in a text ----------------------------------------------

    def successors_named(self, text: str) -> set[str]:
        """The 2025 province-level units ``text`` (accented news text) is about: named as
        they are ("Hải Phòng"), through a pre-2025 province ("Hải Dương") or through a
        district named with its type ("huyện Yên Dũng"), read as :meth:`mentions` reads them."""
        words = words_of(text)
        named: set[str] = set()
        i = 0
        while i < len(words):
            mention, i = self._mention_at(words, i, merged_only=False)
            if mention is not None:
                named.add(mention[0].successor)
        return named

    def mentions(self, text: str) -> list[Mention]:
        """Pre-2025 units named in ``text`` (accented news text) that no longer exist as such:
        merged provinces (bare, or after "tỉnh"/"TP"/"thành phố") and districts after their
        type. A province reading wins over a district one ("TP Hải Phòng" is the city)."""
        spans = [(m.start(), m.end(), normalise_word(m.group())) for m in _WORD.finditer(nfc(text))]
        words = [w for _, _, w in spans]
        found: list[Mention] = []
        i = 0
        while i < len(words):
            mention, end = self._mention_at(words, i)
            if mention is None:
                i += 1
                continue
            unit, name_start, kind = mention
            found.append(
                Mention(spans[i][0], spans[end - 1][1], unit, text[spans[name_start][0] : spans[end - 1][1]], kind)
            )
            i = end
        return found

    def _mention_at(
        self, words: list[str], i: int, merged_only: bool = True
    ) -> tuple[tuple[Province | District, int, str] | None, int]:
        """The unit whose name (with its type, if written) starts at word ``i``: the unit, where
        its name starts, the type it was written with; and where it ends. ``merged_only``: a
        province that kept its name is not one (it needs no note)."""
        for kind_map, is_province in ((_PROVINCE_TYPES, True), (_DISTRICT_TYPES, False)):
            for kind, spellings in kind_map.items():
                for spelling in spellings:
                    if tuple(words[i : i + len(spelling)]) != spelling:
                        continue
                    start = i + len(spelling)
                    unit: tuple[Province | District, int] | None
                    unit = self._province_after(words, start, kind, merged_only) if is_province else None
                    if unit is None and not is_province:
                        unit = self._district_after(words, start, kind)
                    if unit is not None:
                        return (unit[0], start, kind), unit[1]
        if i > 0 and words[i - 1] in _NOT_PROVINCE_BEFORE:
            return None, i + 1
        bare = self._province_after(words, i, None, merged_only)
        if bare is not None:
            return (bare[0], i, ""), bare[1]
        return None, i + 1

    def _province_after(
        self, words: list[str], i: int, kind: str | None, merged_only: bool = True
    ) -> tuple[Province, int] | None:
        for n in range(min(self._longest, len(words) - i), 1, -1):
            province = self._province_words.get(tuple(words[i : i + n]))
            if province is None:
                continue
            if (kind is not None and province.kind != kind) or self._false_friend(words, i, n, False):
                return None
            return (province, i + n) if province.merged or not merged_only else None
        return None

    def _district_after(self, words: list[str], i: int, kind: str) -> tuple[District, int] | None:
        for n in range(min(self._longest_district, len(words) - i), 0, -1):
            district = self._districts.get(_KEY_PREFIX[kind] + "".join(fold(w) for w in words[i : i + n]))
            if district is not None:
                return district, i + n
        return None


def _one_of(group: Sequence[District]) -> District:
    """The district a key names: of two that used it (in provinces now one), either, but
    naming no wards, since whose they would be is not known."""
    if len({(d.province, d.own_key) for d in group}) == 1:
        return group[0]
    return dataclasses.replace(group[0], wards=())


def _kind(full_name: str, short_name: str) -> str:
    """The unit type of a full name: ("Tỉnh Hải Dương", "Hải Dương") -> "tỉnh"."""
    return nfc(full_name.removesuffix(short_name)).strip().lower()


@functools.cache
def admin_map() -> AdminMap:
    """The map, read once per process from the ``vietnamadminunits`` package."""
    from vietnamadminunits import convert_address
    from vietnamadminunits.database import get_data

    rows = get_data(
        ["province", "provinceShort", "provinceKey", "district", "districtShort", "districtKey", "districtKeywords"],
        "admin_units_legacy",
    )
    wards = _wards_by_district()
    provinces: dict[str, Province] = {}
    for full, short in sorted({(nfc(r["province"]), nfc(r["provinceShort"])) for r in rows}):
        new = convert_address(full)
        provinces[short] = Province(
            name=short,
            kind=_kind(full, short),
            successor=nfc(new.short_province),
            successor_kind=_kind(nfc(new.province), nfc(new.short_province)),
        )
    districts = []
    for r in rows:
        province = provinces[nfc(r["provinceShort"])]
        keywords = json.loads(r["districtKeywords"] or "[]")
        districts.append(
            District(
                name=nfc(r["districtShort"]),
                kind=_kind(nfc(r["district"]), nfc(r["districtShort"])),
                province=province.name,
                successor=province.successor,
                successor_kind=province.successor_kind,
                keys=tuple(k for k in keywords if k.startswith(tuple(_KEY_PREFIX.values()))),
                own_key=r["districtKey"],
                wards=wards.get((r["provinceKey"], r["districtKey"]), ()),
            )
        )
    return AdminMap(list(provinces.values()), districts)


_WARD_TYPES = ("phường", "xã", "đặc khu")


def _wards_by_district() -> dict[tuple[str, str], tuple[tuple[str, str], ...]]:
    """(pre-2025 province key, district key) -> the 2025 wards and communes that took in its
    old wards and communes, from the package's 2025 converter (every one of them, also those
    an old ward was divided among); none where more than :data:`WARDS_NAMED`."""
    from vietnamadminunits.converter.converter_2025 import converter_data
    from vietnamadminunits.database import get_data

    names = {
        (r["provinceKey"], r["wardKey"]): (nfc(r["wardType"]).lower(), nfc(r["wardShort"]))
        for r in get_data(["provinceKey", "wardKey", "wardType", "wardShort"], "admin_units")
    }
    taken: dict[tuple[str, str], set[tuple[str, str]]] = {}

    def add(old: str, new_province: str, new_ward: str) -> None:
        old_province, old_district, _ = old.split("_", 2)
        if (new_province, new_ward) in names:
            taken.setdefault((old_province, old_district), set()).add(names[new_province, new_ward])

    for new_province, new_wards in converter_data["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for new_ward, olds in new_wards.items():
            for old in olds:
                add(old, new_province, new_ward)
    for new_province, divided in converter_data["DICT_PROVINCE_WARD_DIVIDED"].items():
        for old, parts in divided.items():
            for part in parts:
                add(old, new_province, part["newWardKey"])
    order = {kind: i for i, kind in enumerate(_WARD_TYPES)}
    return {
        district: tuple(sorted(units, key=lambda unit: (order.get(unit[0], len(order)), fold(unit[1]))))
        for district, units in taken.items()
        if len(units) <= WARDS_NAMED
    }


def unit_notes(text: str, published: datetime | None) -> tuple[str, ...]:
    """For a sentence of an article published before the 2025 reform: each merged province
    and each (abolished) district-level unit it names, once, with what it is now ("Hải Dương
    nay thuộc TP Hải Phòng")."""
    if published is None:
        return ()
    if published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    if published >= REFORM_DATE:
        return ()
    return tuple(dict.fromkeys(mention.note() for mention in admin_map().mentions(text)))
