"""Theme partials that read nothing of the page, rendered once and given again: the same HTML, cheaper.

Material renders the same header search box, palette toggle, logo, scripts and copyright into
every page, and looks up each of a page's ~25 translated words through two nested macros that
build the whole table of words per call: about a third of a plain page's template time. None
of it depends on the page, only on the site's configuration and the page's depth (`base_url`).

kb's loader (`kb.render_nav.KbLoader`, in `on_env`) serves such a partial through
`templates/overrides/kb/partial-cache.html`, which renders the theme's own file the first time
for a key and gives its HTML again after. A partial is served so only when it is provably the
same for every page of a key, read from its Jinja syntax tree (public `jinja2.meta` and
`jinja2.nodes`), with every template it includes or imports:

- it comes from the theme's own folder (a `custom_dir` or kb's overrides may replace any
  partial; theirs are rendered as usual);
- it reads no variable but `base_url`, `config`, `features`, `lang` and `mkdocs_version`, and
  those are the key (`config` and `lang` only as the build's own: any other value renders the
  partial as usual);
- it calls no filter or test but Jinja's own pure ones (unless replaced in the environment)
  and MkDocs' `url` and `script_tag`, whose results for this page are compared with those the
  HTML was rendered with (the filters are wrapped in the environment to record them: public
  `Environment.filters`); no function but `namespace`, `range`, `dict`, `cycler`, `joiner`,
  `loop.cycle` and the macros of the modules it imports (and `lang.t`); no block, call block,
  `extends` or expression statement;
- a template it includes by a computed name (".icons/" ~ icon ~ ".svg") must start with a
  constant folder; whatever is then loaded from that folder must be plain text (no Jinja
  syntax: it renders to itself) or pass the same checks from the theme's folder, or the cache
  stops giving HTML for the rest of the build.

"partials/language.html" becomes `kb/language.html`, a module whose `t` is `Partials.t`: the
theme's own `t`, called once per word and build, when the theme's file reads only `config`
and exports only `t`. Without kb's plugin the theme's templates render as they are: the cache
only makes it faster. `KB_PARTIALS_CACHE=0` turns it off. Only with the plugins kb knows
(`kb.render_parallel.SAFE_PLUGINS`): another plugin might change the configuration between
pages.
"""

from __future__ import annotations

import os
import re
from typing import Any, cast

from jinja2 import BaseLoader, Environment, TemplateNotFound, Undefined, meta, nodes, pass_context
from jinja2.defaults import DEFAULT_FILTERS, DEFAULT_NAMESPACE, DEFAULT_TESTS
from jinja2.exceptions import TemplateSyntaxError
from jinja2.runtime import Context

#: `KB_PARTIALS_CACHE=0` renders every partial for every page (to measure, or to rule it out).
SWITCH = "KB_PARTIALS_CACHE"
DISPATCH = "kb/partial-cache.html"
LANGUAGE_DISPATCH = "kb/language.html"
LANGUAGE = "partials/language.html"
#: The theme's own file of a partial kb serves through its dispatch.
THEME = "kb/theme/"
#: What every cached partial's key holds (a template it includes by a computed name may read
#: these and nothing else), besides the other names the partial itself reads.
KEYED = ("base_url", "config", "features", "lang", "mkdocs_version")
#: Names that differ from page to page: a partial that reads one is not worth a key.
PER_PAGE = frozenset({"page", "nav", "pages", "toc_item", "build_date_utc"})
#: Jinja's own globals a partial may call (its `lipsum` is random).
CONSTRUCTORS = ("namespace", "range", "dict", "cycler", "joiner")
#: MkDocs' filters that read the page: their results are recorded and compared.
RECORDED = ("url", "script_tag")
#: Jinja's filters that give the same result for the same arguments and read no context.
PURE = frozenset(
    "abs attr capitalize center count d default dictsort e escape filesizeformat first float "
    "forceescape format indent int items join last length list lower pprint replace reverse "
    "round safe slice string striptags title tojson trim truncate upper urlencode urlize "
    "wordcount wordwrap xmlattr".split()
)
#: A name the dispatch can carry in a Jinja string literal.
_NAME = re.compile(r"[\w][\w./-]*\Z")
_MISSING = object()
_BUSY = (nodes.For, nodes.Call, nodes.Include, nodes.Import, nodes.FromImport)
#: At most this many renders per key (each for other results of the url filters).
_PER_KEY = 8

Calls = tuple[tuple[str, Any, Any], ...]


def enabled() -> bool:
    return os.environ.get(SWITCH, "").strip() != "0"


def _prefix(node: nodes.Node) -> str | None:
    """The constant folder a computed template name starts with ("partials/x/" ~ name), if any."""
    while isinstance(node, nodes.Concat) and node.nodes:
        node = node.nodes[0]
    if isinstance(node, nodes.Const) and isinstance(node.value, str) and "/" in node.value:
        return node.value[: node.value.rindex("/") + 1]
    return None


def _targets(tree: nodes.Template, kinds: tuple[type[nodes.Stmt], ...]) -> list[nodes.Expr]:
    """The template names (expressions) of a tree's statements of `kinds` (include, import...)."""
    return [cast(Any, node).template for node in tree.find_all(kinds)]


def _parse(env: Environment, text: str) -> nodes.Template | None:
    """The syntax tree of a template; None if it has an error (Jinja reports it when it compiles)."""
    try:
        return env.parse(text)
    except TemplateSyntaxError:
        return None


def _module_of_macros(tree: nodes.Template) -> list[str] | None:
    """The macros a template defines, when it holds only macros, imports and text (so its module
    exports those macros alone); None otherwise."""
    if not all(
        isinstance(node, (nodes.Output, nodes.Import, nodes.FromImport, nodes.Macro)) for node in tree.body
    ):
        return None
    return [node.name for node in tree.body if isinstance(node, nodes.Macro)]


class Partials:
    """What kb's loader and kb/partial-cache.html ask: which partials to serve, their keys and HTML."""

    def __init__(
        self, env: Environment, config: Any, inner: BaseLoader, own: BaseLoader, theme_dir: str
    ) -> None:
        self.env, self.config, self.inner, self.own = env, config, inner, own
        self.theme_dir = os.path.join(os.path.realpath(theme_dir), "")
        self.reads: dict[str, frozenset[str] | None] = {}  # template -> what it reads; None: not safe
        #: Templates some template imports or extends (by name, or by a computed name in a
        #: folder): the dispatch stands in only for included ones, as its module exports nothing.
        self.imported: set[str] = set()
        self.imported_from: set[str] = set()
        self.served: set[str] = set()  # partials served through the dispatch
        self.keyed: dict[str, tuple[str, ...]] = {}  # partial -> the names its key holds
        #: Safe templates that do more than test and print a few values (they loop, call or include):
        #: the dispatch costs about as much as rendering one that does not.
        self.busy: set[str] = set()
        self._imports = re.compile(re.escape(env.block_start_string) + r"[-+]?\s*(import|from|extends)\b")
        self.watched: set[str] = set()  # folders templates are included from by a computed name
        self.seen: dict[str, tuple[str, str | None]] = {}  # every template loaded: source, file
        self.entries: dict[tuple[Any, ...], list[tuple[Calls, Any]]] = {}
        self.stack: list[list[tuple[str, Any, Any]]] = []  # url results of the renders under way
        self.filters = {name: env.filters[name] for name in RECORDED if name in env.filters}
        self.words: dict[Any, Any] = {}
        self.module: Any = None
        self.off = False  # a template under a watched folder is not provably the same: stop
        self.hits = 0
        self.t = self._translate  # one bound method: kb/language.html's `t`, compared by identity

    # -- what the loader serves ------------------------------------------------------------------

    def source(self, env: Environment, name: str) -> tuple[str, str | None, Any] | None:
        """The source kb serves for `name` (the theme's own file for "kb/theme/..."), or None."""
        if name.startswith(THEME):
            return self.inner.get_source(env, name[len(THEME) :])
        if name == LANGUAGE:
            return self._own(env, LANGUAGE_DISPATCH) if self._language(env) else None
        reads = self.check(env, name) if name.startswith("partials/") and _NAME.match(name) else None
        if (
            self.off
            or reads is None
            or name not in self.busy
            or name in self.imported
            or any(name.startswith(folder) for folder in self.imported_from)
        ):
            return None
        self.served.add(name)
        self.keyed[name] = tuple(sorted(set(KEYED) | reads))
        text, filename, uptodate = self._own(env, DISPATCH)
        return f'{{%- set _kb_name = "{name}" -%}}' + text, filename, uptodate

    def _own(self, env: Environment, name: str) -> tuple[str, str | None, Any]:
        text, filename, uptodate = self.own.get_source(env, name)
        return text, filename, uptodate

    def loaded(self, env: Environment, name: str, found: tuple[str, str | None, Any]) -> None:
        """Note a template the loader gave: what it imports, and whether it is provably the same
        if it is under a watched folder."""
        self.seen[name] = (found[0], found[1])
        if self._imports.search(found[0]) and (tree := _parse(env, found[0])) is not None:
            self._note_imports(env, tree)
        if any(name.startswith(folder) for folder in self.watched) and not self._plain_or_safe(env, name):
            self.off = True

    def _note_imports(self, env: Environment, tree: nodes.Template) -> None:
        """Partials imported or extended are not served through the dispatch; were one served
        already, the templates loaded so far are loaded again (and the cache stops)."""
        for target in _targets(tree, (nodes.Import, nodes.FromImport, nodes.Extends)):
            if isinstance(target, nodes.Const) and isinstance(target.value, str):
                self.imported.add(target.value)
            else:
                self.imported_from.add(_prefix(target) or "")
        stale = {
            n for n in self.served if n in self.imported or any(n.startswith(f) for f in self.imported_from)
        }
        if stale:
            self.off = True
            self.served -= stale
            if env.cache is not None:
                env.cache.clear()

    def _watch(self, env: Environment, folder: str) -> None:
        if folder in self.watched:
            return
        self.watched.add(folder)
        for name in [n for n in self.seen if n.startswith(folder)]:
            if not self._plain_or_safe(env, name):
                self.off = True

    def _plain_or_safe(self, env: Environment, name: str) -> bool:
        text, filename = self.seen[name]
        if not any(
            mark in text
            for mark in (env.block_start_string, env.variable_start_string, env.comment_start_string)
        ):
            return env.line_statement_prefix is None and env.line_comment_prefix is None
        tree = _parse(env, text) if self._theme_file(filename) else None
        reads = None if tree is None else self._safe(env, tree)
        return reads is not None and reads <= set(KEYED)

    # -- the checks ------------------------------------------------------------------------------

    def check(self, env: Environment, name: str) -> frozenset[str] | None:
        """What template `name` and those it includes read, if provably the same for every page
        of a key; None otherwise (not the theme's file, or anything the module docstring rules out)."""
        if name in self.reads:
            return self.reads[name]
        self.reads[name] = None  # an include cycle is not safe
        try:
            text, filename, _ = self.inner.get_source(env, name)
        except TemplateNotFound:
            return None
        if self._theme_file(filename):
            tree = _parse(env, text)
            self.reads[name] = None if tree is None else self._safe(env, tree)
            if tree is not None and any(True for _ in tree.find_all(_BUSY)):
                self.busy.add(name)
        return self.reads[name]

    def _theme_file(self, filename: str | None) -> bool:
        return filename is not None and os.path.realpath(filename).startswith(self.theme_dir)

    def _safe(self, env: Environment, tree: nodes.Template) -> frozenset[str] | None:
        reads = set(meta.find_undeclared_variables(tree))
        if reads & PER_PAGE:
            return None
        if any(True for _ in tree.find_all((nodes.Extends, nodes.Block, nodes.CallBlock, nodes.ExprStmt))):
            return None
        modules = {node.target for node in tree.find_all(nodes.Import)}
        self._note_imports(env, tree)
        if not all(self._filter(env, node.name) for node in tree.find_all(nodes.Filter)):
            return None
        if not all(
            env.tests.get(node.name) is DEFAULT_TESTS.get(node.name, _MISSING)
            for node in tree.find_all(nodes.Test)
        ):
            return None
        if not all(self._call(node.node, modules) for node in tree.find_all(nodes.Call)):
            return None
        for target in _targets(tree, (nodes.Include, nodes.Import, nodes.FromImport)):
            if isinstance(target, nodes.Const) and isinstance(target.value, str):
                included = self.check(env, target.value)
                if included is None:
                    return None
                reads |= included
            elif (folder := _prefix(target)) is not None:
                self._watch(env, folder)
            else:
                return None
        return frozenset(reads)

    def _filter(self, env: Environment, name: str) -> bool:
        if name in RECORDED:
            return name in self.filters
        return name in PURE and env.filters.get(name) is DEFAULT_FILTERS.get(name, _MISSING)

    def _call(self, callee: nodes.Node, modules: set[str]) -> bool:
        if isinstance(callee, nodes.Name):
            default = DEFAULT_NAMESPACE.get(callee.name, _MISSING)
            return callee.name in CONSTRUCTORS and self.env.globals.get(callee.name) is default
        if isinstance(callee, nodes.Getattr) and isinstance(callee.node, nodes.Name):
            owner = callee.node.name
            return owner in modules or (owner, callee.attr) in {("lang", "t"), ("loop", "cycle")}
        return False

    def _language(self, env: Environment) -> bool:
        """Whether the theme's language partial is a module with only `t`, reading only `config`."""
        reads = self.check(env, LANGUAGE)
        if reads is None or not reads <= {"config"}:
            return False
        tree = _parse(env, self.inner.get_source(env, LANGUAGE)[0])
        return tree is not None and _module_of_macros(tree) == ["t"]

    # -- what kb/partial-cache.html and kb/language.html ask ------------------------------------

    @pass_context
    def key(self, context: Context, name: str) -> tuple[Any, ...] | None:
        """`name` and the values it may read, or None: render the partial as usual."""
        if self.off:
            return None
        parts: list[Any] = [name]
        for var in self.keyed[name]:
            part = self._part(var, context.get(var, _MISSING))
            if part is None:
                return None
            parts.append(part)
        return tuple(parts)

    def _part(self, var: str, value: Any) -> Any:
        """What `value` of `var` puts in a key: itself when plain, a mark for the build's own
        objects; None for anything else (the partial is rendered as usual)."""
        if value is _MISSING:
            return _MISSING
        if value is self.env.globals.get(var, _MISSING):
            return ("global", var)
        if var == "config":
            return "config" if value is self.config else None
        if var == "lang":
            return "lang" if getattr(value, "t", None) is self.t else None
        if var == "features" and isinstance(value, (list, tuple)) and all(isinstance(x, str) for x in value):
            return tuple(value)
        if isinstance(value, Undefined):
            return ("undefined", type(value))
        if value is None or isinstance(value, (str, int, float)):
            return (type(value), value)
        return None

    @pass_context
    def get(self, context: Context, key: tuple[Any, ...]) -> Any:
        """The HTML rendered for `key`, if the url filters give this page what they gave it."""
        for calls, html in self.entries.get(key, ()):
            if all(self.filters[f](context, value) == result for f, value, result in calls):
                self.hits += 1
                return html
        return None

    def start(self) -> str:
        self.stack.append([])
        return ""

    def put(self, key: tuple[Any, ...], html: Any) -> Any:
        calls = tuple(self.stack.pop()) if self.stack else None
        entries = self.entries.setdefault(key, [])
        if calls is not None and len(entries) < _PER_KEY:
            entries.append((calls, html))
        return html

    def recording(self, name: str) -> Any:
        """The environment's filter `name`, noting each result in the renders under way."""
        original = self.filters[name]

        @pass_context
        def record(context: Context, value: Any) -> Any:
            result = original(context, value)
            for calls in self.stack:
                calls.append((name, value, result))
            return result

        return record

    def _translate(self, key: Any) -> Any:
        """The theme's `t(key)`: called once per word (its module made with the build's config)."""
        if self.module is None:
            self.module = self.env.get_template(THEME + LANGUAGE).make_module({"config": self.config})
        if self.off:
            return self.module.t(key)
        try:
            return self.words[key]
        except KeyError:
            value = self.words[key] = self.module.t(key)
            return value
        except TypeError:  # a key that cannot be hashed
            return self.module.t(key)


def install(env: Environment, config: Any) -> Partials | None:
    """Serve the partials that read nothing of the page through kb's dispatch (`kb.render_nav.KbLoader`
    around the theme's loader); None where switched off, or with a plugin kb does not know."""
    from mkdocs.utils import get_theme_dir

    from kb import render_nav
    from kb.render_parallel import SAFE_PLUGINS

    if not enabled() or not all(name in SAFE_PLUGINS for name in config["plugins"]):
        return None
    name = config["theme"].name
    try:
        theme_dir = get_theme_dir(name) if name else None
    except KeyError:
        theme_dir = None
    if theme_dir is None:
        return None
    render_nav.install(env, nav=False)
    loader = env.loader
    if not isinstance(loader, render_nav.KbLoader):
        return None
    partials = Partials(env, config, loader.inner, loader.own, theme_dir)
    for filter_name in partials.filters:
        env.filters[filter_name] = partials.recording(filter_name)
    env.globals["kb_partials"] = partials
    loader.partials = partials
    if env.cache:  # anything loaded before kb's loader was put in place is loaded again through it
        env.cache.clear()
    return partials
