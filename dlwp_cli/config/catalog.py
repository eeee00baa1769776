"""The config tree as a table of contents: groups, options and their one-line descriptions.

Read straight from the YAML files (first comment line), so there is no second registry.

Everything here reads the *config search path*: the packaged ``dlwp_conf`` tree plus the user's config
dirs, given on the command line as ``--config-dir DIR`` (Hydra's flag, ``-cd DIR``) and as
``hydra.searchpath=[file:///abs/dir,pkg://some.package]`` overrides. A command sets it once, before it
lists, composes or expands anything::

    overrides = catalog.configure(config_dir, overrides)   # or catalog.set_search_path(config_dir, entries)

and ``groups()``, ``options(group)``, ``description(group, option)``, ``model_targets()`` and
``compose.compose()`` then see the user's options too. Without that call (and after
``set_search_path()`` with no arguments) the search path is the packaged tree alone.

Options are looked up in Hydra's own order, and the first file found wins: the packaged tree, then
``--config-dir``, then the ``hydra.searchpath`` entries in their order. (Hydra 1.3 places ``--config-dir``
right after the application's own config source, so a user file named like a packaged option is shadowed
by it; ``files()`` returns all of them, the one used first.)
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import dlwp_conf

CONF_DIR = Path(dlwp_conf.__file__).parent
PACKAGED = "pkg://dlwp_conf"
SEARCHPATH_KEY = "hydra.searchpath"
CONFIG_DIR_FLAGS = ("--config-dir", "-cd")
_NOT_GROUPS = {"hydra"}  # Hydra's own config groups (hydra/launcher, ...) are not dlwp's


@dataclasses.dataclass(frozen=True)
class SearchPath:
    """The user's part of the config search path (the packaged tree is always in it)."""

    config_dir: Path | None = None  # --config-dir, absolute
    searchpath: tuple[str, ...] = ()  # hydra.searchpath entries, file:// ones made absolute

    def sources(self) -> list[str]:
        """The search path as Hydra URLs, in lookup order."""
        cmdline = [f"file://{self.config_dir}"] if self.config_dir else []
        return [PACKAGED, *cmdline, *self.searchpath]

    def roots(self) -> list[Path]:
        """The folders of the search path, in lookup order (entries that are no folder are skipped)."""
        found = [CONF_DIR]
        if self.config_dir is not None and self.config_dir.is_dir():
            found.append(self.config_dir)
        for entry in self.searchpath:
            folder = entry_folder(entry)
            if folder is not None and folder.is_dir():
                found.append(folder)
        unique: list[Path] = []
        for folder in found:
            if folder not in unique:
                unique.append(folder)
        return unique


_current = SearchPath()


# -- the search path ------------------------------------------------------------------------------


def get_search_path() -> SearchPath:
    return _current


def set_search_path(config_dir: str | os.PathLike | None = None, searchpath: Iterable[str] = ()) -> SearchPath:
    """Make ``config_dir`` (relative: against the current directory) and the ``hydra.searchpath`` entries
    the search path of every later call; no arguments: the packaged tree alone. Raises ConfigError for a
    folder that does not exist. Returns the new search path."""
    global _current
    _current = _checked(config_dir, searchpath)
    return _current


@contextmanager
def using_search_path(config_dir: str | os.PathLike | None = None,
                      searchpath: Iterable[str] = ()) -> Iterator[SearchPath]:
    """``set_search_path`` for the duration of a ``with`` block."""
    global _current
    saved = _current
    _current = _checked(config_dir, searchpath)
    try:
        yield _current
    finally:
        _current = saved


HOME_VALUE = re.compile(r"^(\+{0,2}[^=~+][^=]*)=(~[^,'\"\s\[\]{}()]*)$")  # key=~/path: no quote, list or sweep


def expand_home(override: str) -> str:
    """``key=~/path`` with the home folder written out, as a shell does for ``VAR=~/path`` but not for
    ``task.path=~/path`` (not a variable name); Hydra's override syntax has no place for a bare ``~``."""
    match = HOME_VALUE.match(override)
    return f"{match.group(1)}={os.path.expanduser(match.group(2))}" if match else override


def configure(config_dir: str | os.PathLike | None, overrides: Iterable[str]) -> list[str]:
    """Set the search path from a command's ``--config-dir`` and any ``hydra.searchpath=...`` override;
    return the overrides with ``~`` values expanded (:func:`expand_home`) and that override's relative
    ``file://`` entries made absolute."""
    overrides = [expand_home(o) for o in overrides]
    entries = searchpath_override(overrides)
    set_search_path(config_dir, entries or ())
    if entries is None:
        return overrides
    text = searchpath_override_text(_current.searchpath)
    return [text if is_searchpath(o) else o for o in overrides]


def _checked(config_dir, searchpath) -> SearchPath:
    from dlwp_cli.errors import ConfigError

    folder = None
    if config_dir is not None and str(config_dir) != "":
        folder = Path(os.path.abspath(os.path.expanduser(str(config_dir))))
        if not folder.is_dir():
            raise ConfigError(f"--config-dir '{config_dir}': no such folder ({folder}). Give a folder that holds "
                              "config groups, e.g. DIR/experiment/mine.yaml.")
    entries = tuple(normalize_entry(entry) for entry in searchpath)
    for given, entry in zip(searchpath, entries):
        if entry.startswith("structured://"):
            continue
        if entry_folder(entry) is None or not entry_folder(entry).is_dir():
            raise ConfigError(f"hydra.searchpath entry '{given}' is not a folder or an importable package. "
                              "Use file:///absolute/dir, file://relative/dir or pkg://package.name.")
    return SearchPath(folder, entries)


def normalize_entry(entry: str) -> str:
    """A ``hydra.searchpath`` entry with a relative ``file://`` path (or a bare path) made absolute."""
    entry = str(entry)
    scheme, sep, path = entry.partition("://")
    if not sep:
        scheme, path = "file", entry
    if scheme == "file":
        return f"file://{os.path.abspath(os.path.expanduser(path))}"
    return entry


def entry_folder(entry: str) -> Path | None:
    """The folder behind a search path entry (``file://DIR`` or ``pkg://package``), or None."""
    scheme, sep, path = str(entry).partition("://")
    if not sep:
        scheme, path = "file", str(entry)
    if scheme == "file":
        return Path(path)
    if scheme == "pkg":
        import importlib.resources

        package = path.replace("/", ".").strip(".")
        if package == "dlwp_conf":
            return CONF_DIR
        try:
            files = importlib.resources.files(package)
        except (ImportError, TypeError, ValueError):
            return None
        return Path(str(files)) if Path(str(files)).is_dir() else None
    return None


def split_config_dir(words: Iterable[str]) -> tuple[str | None, list[str]]:
    """(the ``--config-dir``/``-cd`` value or None, the other words), wherever the flag stands.

    Accepts ``--config-dir DIR``, ``-cd DIR``, ``--config-dir=DIR`` and ``-cd=DIR``; the value is returned
    as given (``set_search_path`` makes it absolute)."""
    from dlwp_cli.errors import ConfigError

    words = list(words)
    found: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        flag, eq, value = word.partition("=")
        if flag in CONFIG_DIR_FLAGS:
            if not eq:
                if i + 1 >= len(words) or words[i + 1].startswith("-"):
                    raise ConfigError(f"{flag} needs a folder, e.g. '{flag} my_configs'.")
                value = words[i + 1]
                i += 1
            if not value:
                raise ConfigError(f"{flag} needs a folder, e.g. '{flag} my_configs'.")
            found.append(value)
        else:
            rest.append(word)
        i += 1
    if len({os.path.abspath(v) for v in found}) > 1:
        raise ConfigError(f"--config-dir is given {len(found)} times ({', '.join(found)}); Hydra takes one. "
                          "Add more folders with hydra.searchpath=[file:///abs/dir,...].")
    return (found[0] if found else None), rest


def is_searchpath(override: str) -> bool:
    """Whether an override sets ``hydra.searchpath``."""
    return override.split("=", 1)[0].lstrip("+~") == SEARCHPATH_KEY


def searchpath_override(overrides: Iterable[str]) -> list[str] | None:
    """The entries of a ``hydra.searchpath=[...]`` override, or None when there is none."""
    from dlwp_cli.errors import ConfigError

    given = [o for o in overrides if is_searchpath(o)]
    if not given:
        return None
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        value = OverridesParser.create().parse_override(given[-1]).value()
    except HydraException as err:
        raise ConfigError(f"Cannot parse '{given[-1]}': {str(err).splitlines()[0]}") from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"'{given[-1]}': hydra.searchpath must be a list of folders, "
                          "e.g. hydra.searchpath=[file:///abs/dir,pkg://some.package].")
    return list(value)


def searchpath_override_text(entries: Iterable[str]) -> str:
    """``hydra.searchpath=[...]`` for these entries, quoted where Hydra's override grammar needs it."""

    def quoted(entry: str) -> str:
        if re.fullmatch(r"[\w/.:~+@-]+", entry):
            return entry
        return "'" + entry.replace("\\", "\\\\").replace("'", "\\'") + "'"

    return f"{SEARCHPATH_KEY}=[{','.join(quoted(e) for e in entries)}]"


def roots() -> list[Path]:
    """The folders of the current search path, in lookup order."""
    return _current.roots()


# -- the table of contents ------------------------------------------------------------------------


def groups() -> list[str]:
    """Config groups: those of the primary config's defaults list, in its order, then the other folders
    of the search path that hold options (a user's own group), sorted."""
    folders = roots()
    primary = next((root / "config.yaml" for root in folders if (root / "config.yaml").is_file()),
                   CONF_DIR / "config.yaml")
    ordered = re.findall(r"^\s*-\s+(?:override\s+)?/?(\w+)\s*:", primary.read_text(), flags=re.M)
    extra = sorted({
        child.name for root in folders for child in root.iterdir()
        if child.is_dir() and child.name not in _NOT_GROUPS and not child.name.startswith((".", "_"))
        and child.name not in ordered and next(child.rglob("*.yaml"), None) is not None
    })
    return [*ordered, *extra]


def options(group: str) -> list[str]:
    """Option names of a group over the whole search path (``ch04/imdb_dense`` style for nested folders)."""
    names: set[str] = set()
    for root in roots():
        folder = root / group
        if folder.is_dir():
            names.update(p.relative_to(folder).with_suffix("").as_posix() for p in folder.rglob("*.yaml"))
    return sorted(names)


def files(group: str, option: str) -> list[Path]:
    """Every file of that name on the search path; Hydra uses the first one."""
    return [root / group / f"{option}.yaml" for root in roots() if (root / group / f"{option}.yaml").is_file()]


def find(group: str, option: str) -> Path | None:
    """The file Hydra loads for ``group=option``, or None."""
    found = files(group, option)
    return found[0] if found else None


def description(group: str, option: str) -> str:
    """The first comment line of an option's file that is not a ``@package`` directive."""
    path = find(group, option)
    if path is None:
        return ""
    for line in path.read_text().splitlines():
        if line.startswith("#") and "@package" not in line:
            return line.lstrip("# ").strip()
        if line.strip() and not line.startswith("#"):
            break
    return ""


def model_targets() -> dict[str, str]:
    """Model option name -> its ``_target_``, over the whole search path."""
    return dict(_model_targets(tuple(roots())))


@lru_cache(maxsize=16)
def _model_targets(folders: tuple[Path, ...]) -> tuple[tuple[str, str], ...]:
    targets = []
    for name in options("model"):
        path = find("model", name)
        match = re.search(r"^_target_:\s*(\S+)", path.read_text(), flags=re.M) if path else None
        if match:
            targets.append((name, match.group(1)))
    return tuple(targets)


def model_name_for_target(target: str) -> str | None:
    """The model option whose ``_target_`` is ``target``; of several, the one named after the class (``ConvNet``:
    ``convnet``), else the one whose name begins the class's (``DenseNet``: ``dense``), else the first."""
    names = [name for name, t in model_targets().items() if t == target]
    cls = target.rpartition(".")[2].lower()
    exact = [name for name in names if name.replace("_", "") == cls]
    prefix = [name for name in names if cls.startswith(name.replace("_", ""))]
    return (exact or prefix or names or [None])[0]
