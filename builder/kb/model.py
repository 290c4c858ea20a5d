"""The records that flow between pipeline stages.

Frozen dataclasses and `str` enums only: no raw dict travels through three stages, and
nothing is set from frontmatter keys with `setattr`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from kb.markdown import BodyScan

_Record = TypeVar("_Record", bound=type)
_Info = TypeVar("_Info", "LoopInfo", "ProductInfo", "PrincipleInfo", "PageInfo")


def fast_init(cls: _Record) -> _Record:
    """Give a frozen, slotted dataclass an `__init__` about twice as fast; put it above `@dataclass`.

    A frozen dataclass's `__init__` assigns each field with `object.__setattr__`, looked up
    anew for every field of every record (~0.15 µs a field): `kb lint` creates a few hundred
    thousand records (headings, links, scalars, edges), and unpickles them again from the
    worker processes. This one calls each slot's own setter, bound once. Everything else
    stays as `dataclass` made it: assignment still raises, equality, hashing, `replace`.
    """
    fields = dataclasses.fields(cls)
    names = [f.name for f in fields]
    namespace: dict[str, Any] = {f"_set_{name}": cls.__dict__[name].__set__ for name in names}
    params = []
    for f in fields:
        if not f.init or f.kw_only or f.default_factory is not dataclasses.MISSING:
            raise TypeError(f"fast_init: {cls.__name__}.{f.name} needs the dataclass __init__")
        if f.default is dataclasses.MISSING:
            params.append(f.name)
        else:
            namespace[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
    body = "".join(f"\n    _set_{name}(self, {name})" for name in names)
    exec(f"def __init__(self, {', '.join(params)}):{body}", namespace)  # noqa: S102 - our own code
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = vars(cls)["__init__"].__doc__
    cls.__init__ = init  # type: ignore[misc]
    return cls


class Collection(str, Enum):
    """A document's kind, from the first folder under `content/`."""

    PRINCIPLE = "principle"
    PRODUCT = "product"
    LOOP = "loop"
    PAGE = "page"

    @property
    def folder(self) -> str:
        return _FOLDERS.get(self, "")


_FOLDERS = {
    Collection.PRINCIPLE: "principles",
    Collection.PRODUCT: "products",
    Collection.LOOP: "loops",
}
FOLDER_COLLECTION = {folder: coll for coll, folder in _FOLDERS.items()}


class Stage(str, Enum):
    """The five steps of the personal loop, in order."""

    OBSERVE = "observe"
    REFLECT = "reflect"
    DESIGN = "design"
    IMPLEMENT = "implement"
    REPEAT = "repeat"

    @property
    def number(self) -> int:
        return list(Stage).index(self) + 1


class Status(str, Enum):
    IDEA = "idea"
    BUILDING = "building"
    LIVE = "live"
    RETIRED = "retired"


#: A position in the file: (line, column), both from 1.
Pos = tuple[int, int]


@fast_init
@dataclass(frozen=True, slots=True)
class Scalar:
    """How a YAML scalar was written, kept so findings can say "quote it"."""

    raw: str
    tag: str  # short YAML tag: str, int, float, bool, null, timestamp
    quoted: bool


@fast_init
@dataclass(frozen=True, slots=True)
class Frontmatter:
    """Parsed frontmatter with the position of every key and value.

    Positions are keyed by a path tuple: `("feedback", 0, "quote")`. `keys` holds where a
    key was written, `values` where its value starts; `scalars` how each scalar was written.
    """

    data: Mapping[str, Any]
    keys: Mapping[tuple, Pos]
    values: Mapping[tuple, Pos]
    scalars: Mapping[tuple, Scalar]

    def key_pos(self, *path: object) -> Pos:
        return self.keys.get(path) or self.values.get(path) or (1, 1)

    def value_pos(self, *path: object) -> Pos:
        return self.values.get(path) or self.keys.get(path) or (1, 1)

    def item_pos(self, key: str, item: str, nth: int = 0) -> Pos:
        """Where the list `key` holds the string `item` for the `nth` time (from 0), else where
        `key` is: records keep a list's valid items, not their indexes in the file."""
        i = 0
        while (at := (key, i)) in self.values:
            scalar = self.scalars.get(at)
            if scalar is not None and scalar.tag == "str" and scalar.raw == item:
                if nth == 0:
                    return self.values[at]
                nth -= 1
            i += 1
        return self.value_pos(key)


EMPTY_FRONTMATTER = Frontmatter({}, {}, {}, {})


@fast_init
@dataclass(frozen=True, slots=True)
class Document:
    """One markdown file as loaded: where it is, what it is, and its parsed parts.

    `readable` is False when its frontmatter could not be read at all (KB101–KB108): such a
    document still takes part in id resolution, so one broken file does not turn every link
    to it into a second error, but it is left out of the site.
    """

    path: str  # relative to the root, POSIX: content/loops/2026/x.md
    rel: str  # relative to the content folder: loops/2026/x.md
    collection: Collection
    id: str
    front: Frontmatter
    body: str
    body_line: int  # file line number of the body's first line
    scan: BodyScan
    readable: bool = True
    #: Its validated fields, made once by `kb.validate`; None before validate, or unreadable.
    info: Info | None = None

    @property
    def meta(self) -> Mapping[str, Any]:
        return self.front.data

    @property
    def key(self) -> str:
        """Unique within the handbook: the content-relative path without `.md`."""
        return self.rel[:-3]

    @property
    def title(self) -> str:
        """`title`, else the `# ` heading the body opens with, else the file name as MkDocs derives it."""
        value = self.meta.get("title")
        if isinstance(value, str) and value.strip():
            return value
        return self.scan.title or file_title(self.rel)

    @property
    def loop(self) -> LoopInfo:
        return self._info(LoopInfo, NO_LOOP)

    @property
    def product(self) -> ProductInfo:
        return self._info(ProductInfo, NO_PRODUCT)

    @property
    def principle(self) -> PrincipleInfo:
        return self._info(PrincipleInfo, NO_PRINCIPLE)

    @property
    def page(self) -> PageInfo:
        return self._info(PageInfo, NO_PAGE)

    @property
    def summary(self) -> str:
        """The validated `summary:` of a principle, product or page; "" otherwise."""
        info = self.info
        return "" if info is None or isinstance(info, LoopInfo) else info.summary

    @property
    def tags(self) -> tuple[str, ...]:
        return () if self.info is None else self.info.tags

    def _info(self, kind: type[_Info], empty: _Info) -> _Info:
        """The record, as the type its collection has. A document that could not be read has
        none and reads as all fields absent; a readable one without a record is a bug (a
        stage got documents that validate never saw), so it raises rather than show nothing."""
        info = self.info
        if isinstance(info, kind):
            return info
        if info is None and not self.readable:
            return empty
        raise TypeError(f"{self.path}: no {kind.__name__} record (a {self.collection.value}; validated?)")

    def file_pos(self, body_line: int, col: int) -> Pos:
        """A body-relative position as a position in the file."""
        return (self.body_line + body_line - 1, col)


#: File names that stand for their folder: MkDocs publishes `index.md` and `README.md` as the
#: folder's page, Hugo `_index.md` (kb publishes it so when the folder has no other index).
INDEX_NAMES = ("index.md", "README.md", "_index.md")


def file_title(rel: str) -> str:
    """A page's title from its file name, as MkDocs derives it (`structure/pages.py`):
    `-` and `_` become spaces, and an all-lowercase name is capitalized
    (`how-to-access-airbase.md` → "How to access airbase", `GCP_Marketplace.md` →
    "GCP Marketplace"). The home page is "Home", as in MkDocs. A folder's index page takes
    its folder's name where MkDocs would say "Index": a nav full of "Index" helps no reader.
    """
    folder, _, name = rel.rpartition("/")
    stem = name[:-3] if name.endswith(".md") else name
    if name in INDEX_NAMES:
        if not folder:
            return "Home"
        stem = folder.rpartition("/")[2]
    title = stem.replace("-", " ").replace("_", " ")
    if not title.strip():
        return stem or name
    return title.capitalize() if title.lower() == title else title


@dataclass(frozen=True, slots=True)
class Asset:
    """A non-markdown file under content/ (image, PDF), copied into the site as it is."""

    path: str
    rel: str


def fast_pickle(cls: _Record) -> _Record:
    """Pickle a frozen, slotted dataclass as `cls(*fields)`; put it above `@dataclass`.

    The slots default calls `dataclasses.fields()` for every object on both ends. Records
    built by validate travel from load's worker processes inside every document, so their
    pickling is on the hot path of `kb lint` on a large handbook.
    """
    import operator

    get = operator.attrgetter(*[f.name for f in dataclasses.fields(cls)])

    def __reduce__(self: Any) -> tuple[Any, tuple[Any, ...]]:
        return cls, get(self)

    cls.__reduce__ = __reduce__  # type: ignore[assignment, method-assign]
    return cls


@fast_pickle
@fast_init
@dataclass(frozen=True, slots=True)
class Feedback:
    """One item of a loop's `feedback:` that has a quote."""

    source: str  # "" when missing or not text
    quote: str
    url: str | None  # a URL validate accepted, else None


@fast_pickle
@fast_init
@dataclass(frozen=True, slots=True)
class Interface:
    """One item of a product's `interfaces:` that has a name."""

    name: str
    kind: str  # one of the schema's choices, else ""
    description: str  # "" when missing or not text


@fast_pickle
@fast_init
@dataclass(frozen=True, slots=True)
class LoopInfo:
    """A loop cycle's validated fields. A field whose value validate rejected reads as absent
    (None, or no items); of a list, only the items it accepted are kept."""

    date: date | None
    stage: Stage | None
    principles: tuple[str, ...]  # ids as written; link resolves them
    product: str | None
    authors: tuple[str, ...]  # as written; views falls back to the file's git authors
    follows: str | None
    feedback: tuple[Feedback, ...]
    tags: tuple[str, ...]


@fast_pickle
@fast_init
@dataclass(frozen=True, slots=True)
class ProductInfo:
    """A product card's validated fields (read as `LoopInfo` says)."""

    summary: str
    problem: str
    users: tuple[str, ...]
    owner: str
    status: Status | None
    interfaces: tuple[Interface, ...]
    depends_on: tuple[str, ...]
    consumes: tuple[str, ...]  # product-id/interface-name, as written (contracts checks them)
    alternatives: tuple[str, ...]  # product ids or free names
    non_goals: tuple[str, ...]
    principles: tuple[str, ...]
    tags: tuple[str, ...]


@fast_pickle
@fast_init
@dataclass(frozen=True, slots=True)
class PrincipleInfo:
    """A principle's validated fields (read as `LoopInfo` says)."""

    summary: str
    order: int | None
    aliases: tuple[str, ...]
    related: tuple[str, ...]
    tags: tuple[str, ...]


@fast_pickle
@fast_init
@dataclass(frozen=True, slots=True)
class PageInfo:
    """A plain page's fields: what kb shows, and what passes through to the renderer.

    `render` holds the renderer's keys (`hide`, `template`, `search`...) whose values passed
    validation whole, in the schema's order: MkDocs and Material crash on a value of the
    wrong type (`hide: 5`) and load `template` and `icon` as files, so a rejected one is left
    out. `own` holds the keys kb does not know (`data_source`, Hugo's `weight`), as written:
    MkDocs hands them to templates.
    """

    summary: str
    tags: tuple[str, ...]
    render: Mapping[str, Any]
    own: Mapping[str, Any]


#: What validate makes of a document's frontmatter: one record per readable document.
Info = LoopInfo | ProductInfo | PrincipleInfo | PageInfo

#: The record of a document that has none (it could not be read): every field absent.
NO_LOOP = LoopInfo(None, None, (), None, (), None, (), ())
NO_PRODUCT = ProductInfo("", "", (), "", None, (), (), (), (), (), (), ())
NO_PRINCIPLE = PrincipleInfo("", None, (), (), ())
NO_PAGE = PageInfo("", (), {}, {})


def set_info(doc: Document, info: Info) -> None:
    """Give a document its record: `kb.validate`'s one write into a frozen `Document`.

    Validate runs where load read the document (in load's worker processes on a large
    handbook) and reports findings only (`kb.load.Check`); written into the document, the
    record travels and pickles with it. It is written before any later stage sees the
    document, and only by validate.
    """
    _SET_INFO(doc, info)


_SET_INFO = Document.__dict__["info"].__set__


def as_strs(value: Any) -> tuple[str, ...]:
    """The string items of a list value (others were reported by validate)."""
    if isinstance(value, list):
        return tuple(v for v in value if isinstance(v, str) and v.strip())
    return ()
