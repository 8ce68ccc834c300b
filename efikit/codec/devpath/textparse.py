"""Device-path text → nodes: splitting into nodes and arguments, typed argument readers,
and the registry of keywords.

Splitting follows edk2's DevicePathFromText: nodes are separated by '/' and instances by ','
outside parentheses; a node that is not a known ``Keyword(...)`` is a file-path node holding
its text verbatim. Argument readers are stricter than edk2: a malformed number, GUID or
address is an error naming the column, never a silent zero.
"""
from __future__ import annotations

import difflib
import re
import uuid
from dataclasses import dataclass
from typing import Callable, Iterator

from efikit.codec.guid import parse_guid
from efikit.errors import TextParseError

from .base import Node, import_node_module
from .lazy_index import KEYWORD_MODULES, NODE_MODULES

KeywordParser = Callable[["TextArgs"], "Node | None"]
_KEYWORDS: dict[str, KeywordParser] = {}
# keyword → the module that registered it (tests compare it to lazy_index).
_KEYWORD_REGISTERED_BY: dict[str, str] = {}

_KEYWORD_NODE = re.compile(r"^([A-Za-z][A-Za-z0-9_-]*)(\s*)\((.*)\)$", re.DOTALL)


def keyword(*names: str) -> Callable[[KeywordParser], KeywordParser]:
    """Decorator: register a text parser for one or more keywords (case-sensitive)."""

    def register(parser: KeywordParser) -> KeywordParser:
        for name in names:
            if name in _KEYWORDS:
                raise RuntimeError(f"device-path keyword {name} registered twice")
            _KEYWORDS[name] = parser
            _KEYWORD_REGISTERED_BY[name] = getattr(parser, "__module__", "?")
        return parser

    return register


def keyword_parser(name: str) -> KeywordParser | None:
    """The parser of a keyword, importing the node module that defines it on first use."""
    parser = _KEYWORDS.get(name)
    if parser is None:
        module = KEYWORD_MODULES.get(name)
        if module is not None:
            import_node_module(module)
            parser = _KEYWORDS.get(name)
            if parser is None:
                raise RuntimeError(f"efikit.codec.devpath.{module} did not register the "
                                   f"keyword {name} (see lazy_index.py)")
    return parser


def is_keyword(name: str) -> bool:
    """True if ``name`` is a device-path keyword, without importing its node module."""
    return name in _KEYWORDS or name in KEYWORD_MODULES


def all_keywords() -> dict[str, KeywordParser]:
    """Every keyword's parser, after importing every node module."""
    for module in NODE_MODULES:
        import_node_module(module)
    return dict(_KEYWORDS)


class TextDialect:
    """Which parser reads each keyword: a dialect's own ones (by lower-case keyword), else
    the edk2 keyword spelled that way in any case."""

    def __init__(self, name: str, own: dict[str, tuple[str, KeywordParser]] | None = None,
                 single_instance: str = "", bare_file_paths: str = "") -> None:
        self.name = name
        self.own = own or {}
        # non-empty: the dialect has no ',' between instances (no file path outside a
        # keyword), and this says what it has instead
        self.single_instance = single_instance
        self.bare_file_paths = bare_file_paths

    def parser(self, name: str) -> tuple[str, KeywordParser] | None:
        """(the keyword as the dialect spells it, its parser), or None if not a keyword."""
        own = self.own.get(name.lower())
        if own is not None:
            return own
        canonical = resolve_keyword(name)
        parser = keyword_parser(canonical) if canonical is not None else None
        return (canonical, parser) if canonical is not None and parser is not None else None


EDK2_TEXT = TextDialect("edk2")
TEXT_DIALECTS = ("edk2", "efibootmgr")


def text_dialect(name: str) -> TextDialect:
    """The reader of a text dialect: 'edk2' or 'efibootmgr'."""
    if name == "edk2":
        return EDK2_TEXT
    if name == "efibootmgr":
        from .text_efibootmgr import EFIBOOTMGR_TEXT  # noqa: PLC0415 - only when asked for

        return EFIBOOTMGR_TEXT
    raise ValueError(f"unknown device-path text dialect {name!r} (known: {', '.join(TEXT_DIALECTS)})")


@dataclass(frozen=True)
class NodeText:
    """One node's text, where it starts in the whole text, whether an instance ends after
    it, and whether it is a forward-slash file path (``/EFI/x.efi``, see split_nodes)."""

    text: str
    column: int  # 0-based index into the whole text
    ends_instance: bool
    slash_path: bool = False


def is_blank(char: str) -> bool:
    """Whitespace a paste adds around device-path text (line ends, tabs, a BOM)."""
    return char.isspace() or char == "\ufeff"


def split_nodes(text: str) -> Iterator[NodeText]:
    """Split device-path text into node texts the way edk2 does, ignoring what a paste adds:
    whitespace at both ends and around the separators '/' and ','.

    One reading differs from edk2, where edk2's would not be what anyone means: a node that
    starts with '/' (the whole text starting with '/', or '//' between nodes) is a file path
    written with forward slashes, up to the next ',' (``HD(...)//EFI/x.efi`` is one file
    path, ``\\EFI\\x.efi``). A single '/' between nodes separates them, as in edk2: its own
    text of three file-path nodes is ``HD(...)/EFI/BOOT/BOOTX64.EFI``.
    """
    length = len(text)
    while length and is_blank(text[length - 1]):
        length -= 1
    position = _skip_blanks(text, 0, length)
    while position < length and text[position] == ",":
        position = _skip_blanks(text, position + 1, length)  # edk2 skips leading ','
    while position < length:
        char = text[position]
        if char == ")":
            raise TextParseError(text, position + 1, "a device-path node, not ')'")
        if char == "(":
            raise TextParseError(text, position + 1, "a device-path node, not '('")
        slash_path = char == "/"
        start = position
        position = _node_end(text, position, length, "," if slash_path else ",/")
        stop = position
        while stop > start and is_blank(text[stop - 1]):
            stop -= 1
        ends_instance = position < length and text[position] == ","
        yield NodeText(text[start:stop], start, ends_instance, slash_path)
        position = _skip_blanks(text, position + 1, length)
        if ends_instance:
            while position < length and text[position] == ",":  # edk2 skips empty instances
                position = _skip_blanks(text, position + 1, length)
            if position < length and text[position] == "/":  # ",/" as edk2 prints it
                position = _skip_blanks(text, position + 1, length)


def _skip_blanks(text: str, position: int, length: int) -> int:
    while position < length and is_blank(text[position]):
        position += 1
    return position


def _node_end(text: str, position: int, length: int, separators: str) -> int:
    """Where the node starting at ``position`` ends: the first separator outside
    parentheses, or ``length``."""
    open_parens: list[int] = []
    while position < length:
        char = text[position]
        if char in separators and not open_parens:
            break
        if char == "(":
            open_parens.append(position)
        elif char == ")":
            if not open_parens:
                raise TextParseError(text, position + 1, "a '(' before this ')'")
            open_parens.pop()
        position += 1
    if open_parens:
        raise TextParseError(text, open_parens[-1] + 1, "a ')' closing this '('")
    return position


def split_keyword(node_text: str) -> tuple[str, str] | None:
    """('Pci', '0x1,0x0') for 'Pci(0x1,0x0)'; None if the text is not Keyword(...)."""
    match = _KEYWORD_NODE.match(node_text)
    if match is None:
        return None
    return match.group(1), match.group(3)


def resolve_keyword(name: str) -> str | None:
    """The keyword ``name`` spells, in any case ('pci' → 'Pci'), or None."""
    if name in _KEYWORDS or name in KEYWORD_MODULES:
        return name
    return _keywords_by_lower_case().get(name.lower())


def nearest_keywords(name: str) -> list[str]:
    """Known keywords spelled most like ``name`` (for 'did you mean' hints)."""
    by_lower = _keywords_by_lower_case()
    matches = difflib.get_close_matches(name.lower(), list(by_lower), n=3, cutoff=0.6)
    return [by_lower[match] for match in matches]


_LOWER_CASE_KEYWORDS: dict[str, str] = {}


def _keywords_by_lower_case() -> dict[str, str]:
    names = set(_KEYWORDS) | set(KEYWORD_MODULES)
    if len(_LOWER_CASE_KEYWORDS) < len({name.lower() for name in names}):
        for name in sorted(names):  # 'SCSI' and 'Scsi' are one keyword
            _LOWER_CASE_KEYWORDS.setdefault(name.lower(), name)
    return _LOWER_CASE_KEYWORDS


def not_a_node(whole_text: str, piece: NodeText) -> TextParseError:
    """The error for a piece shaped like a node that is not one (never a file path: a file
    name with parentheses is written from its root, ``\\EFI\\x(1).efi``)."""
    node_text = piece.text
    name_match = re.match(r"[A-Za-z][A-Za-z0-9_-]*", node_text)
    split = split_keyword(node_text)
    if split is not None:
        name = split[0]
        hints = nearest_keywords(name)
        hint = f" (did you mean {' or '.join(hints)}?)" if hints else ""
        return TextParseError(whole_text, piece.column + 1,
                              f"a device-path keyword, not {name!r}{hint}")
    close = node_text.rfind(")")
    if name_match is not None and node_text[name_match.end():].lstrip().startswith("(") \
            and 0 <= close < len(node_text) - 1:
        return TextParseError(whole_text, piece.column + close + 2,
                              "'/' or ',' after ')' (a file name with parentheses is "
                              "written from its root: \\dir\\name(1).efi)")
    return TextParseError(whole_text, piece.column + 1,
                          "a device-path node Keyword(...), or a file path starting with '\\'")


class TextArgs:
    """The comma-separated arguments of one ``Keyword(...)`` node, with typed readers that
    raise TextParseError naming the column and what was expected."""

    def __init__(self, whole_text: str, node_column: int, keyword_name: str, inner: str) -> None:
        self.whole_text = whole_text
        self.keyword = keyword_name
        self.inner = inner
        self.values: list[str] = inner.split(",") if inner else []
        first = node_column + len(keyword_name) + 1
        self._columns: list[int] = []
        column = first
        for value in self.values:
            self._columns.append(column)
            column += len(value) + 1
        self._end_column = first + len(inner)

    def __len__(self) -> int:
        return len(self.values)

    def column(self, index: int) -> int:
        """1-based column of argument ``index`` (or of the closing parenthesis if absent)."""
        if index < len(self._columns):
            return self._columns[index] + 1
        return self._end_column + 1

    def fail(self, index: int, expected: str) -> TextParseError:
        return TextParseError(self.whole_text, self.column(index), f"{self.keyword}: {expected}")

    def raw(self, index: int, default: str = "") -> str:
        """The argument's text as written, or ``default`` when it is missing."""
        if index < len(self.values):
            return self.values[index]
        return default

    def present(self, index: int) -> bool:
        return index < len(self.values) and self.values[index].strip() != ""

    def text(self, index: int, default: str = "") -> str:
        value = self.raw(index, default)
        return value.strip() if value.strip() else default

    def uint(self, index: int, bits: int, default: int = 0, name: str = "value") -> int:
        """edk2 Strtoi: '0x' prefix means hex, else decimal. Missing/empty → default."""
        if not self.present(index):
            return default
        value = parse_number(self.values[index].strip())
        if value is None or value < 0 or value >= (1 << bits):
            raise self.fail(index, f"{name} as a number from 0 to {(1 << bits) - 1:#x} "
                                   "(decimal, or hex with 0x)")
        return value

    def hex_uint(self, index: int, bits: int, default: int = 0, name: str = "value") -> int:
        """A number that is always hexadecimal, '0x' optional (edk2 StrHexToUint64)."""
        if not self.present(index):
            return default
        match = _HEX_DIGITS.fullmatch(self.values[index].strip(" "))
        if match is None:
            raise self.fail(index, f"{name} in hexadecimal")
        value = int(match.group(1), 16)
        if value >= (1 << bits):
            raise self.fail(index, f"{name} of at most {bits} bits")
        return value

    def guid(self, index: int, name: str = "GUID") -> uuid.UUID:
        value = parse_guid(self.raw(index))
        if value is None:
            raise self.fail(index, f"{name} as 8-4-4-4-12 hex digits")
        return value

    def hex_bytes(self, index: int, name: str = "data") -> bytes:
        """Hex digits (any case) for a byte string; empty → b''."""
        raw = self.raw(index).strip()
        if raw[:2].lower() == "0x":
            raw = raw[2:]
        if len(raw) % 2:
            raise self.fail(index, f"{name} as an even number of hex digits")
        try:
            return bytes.fromhex(raw)
        except ValueError:
            raise self.fail(index, f"{name} as hex digits") from None

    def choice(self, index: int, choices: dict[str, int], bits: int, default: int = 0,
               name: str = "value") -> int:
        """A named value (case-insensitive) or a number."""
        if not self.present(index):
            return default
        raw = self.values[index].strip()
        for label, value in choices.items():
            if raw.lower() == label.lower():
                return value
        return self.uint(index, bits, default, f"{name} ({'|'.join(choices)} or a number)")

    def ascii(self, index: int, name: str = "text", max_length: int | None = None) -> str:
        """A string argument kept verbatim (no stripping), printable ASCII only."""
        value = self.raw(index)
        if not all(" " <= char <= "~" for char in value):
            raise self.fail(index, f"{name} in printable ASCII")
        if max_length is not None and len(value) > max_length:
            raise self.fail(index, f"{name} of at most {max_length} characters")
        return value

    def at_most(self, count: int) -> None:
        if len(self.values) > count:
            raise self.fail(count, f"at most {count} argument{'s' if count != 1 else ''}")


_HEX_DIGITS = re.compile(r"0*[xX]?([0-9A-Fa-f]+)")
_HEX_NUMBER = re.compile(r"0*[xX]([0-9A-Fa-f]+)")
_DEC_NUMBER = re.compile(r"[0-9]+")


def parse_number(text: str) -> int | None:
    """edk2's Strtoi on well-formed input: hex with a 0x/0X prefix (zeros before the x
    allowed, as edk2 skips them: '00x1F'), else decimal."""
    text = text.strip(" ")
    match = _HEX_NUMBER.fullmatch(text)
    if match is not None:
        return int(match.group(1), 16)
    if _DEC_NUMBER.fullmatch(text):
        return int(text, 10)
    return None


def is_text_safe(value: str) -> bool:
    """True if ``value`` can sit inside a ``Keyword(...)`` argument list and be read back:
    printable ASCII with balanced parentheses (a ',' is the caller's business)."""
    depth = 0
    for char in value:
        if not " " <= char <= "~":
            return False
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0
