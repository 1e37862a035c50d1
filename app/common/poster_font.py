"""The font printed posters, plates and certificates draw Chinese with.

Found without a single hard-coded path: the file named by ``POSTER_FONT``,
else the face fontconfig matches for Noto Sans CJK SC (``fc-match``), else
any face fontconfig lists for Chinese (``fc-list :lang=zh``). ``./dev
install`` installs Debian's ``fonts-noto-cjk`` (SIL Open Font Licence) when
fontconfig knows no Chinese font. A candidate counts only when its
character map holds every character of :data:`CJK_PROBE` (read with
fontTools, which fpdf2 depends on): a Latin font that fontconfig offers as
its "best match" is passed over.

With none, nothing prints boxes: the print endpoints answer 503
:class:`PosterFontMissing` (``poster_font_missing``), naming the fix, and
the missing font is logged once as an error (at start in production).
"""
from __future__ import annotations

import logging
import os
import subprocess
import threading

from fontTools.ttLib import TTFont, TTLibError

from app.errors import ServiceUnavailable

log = logging.getLogger(__name__)

# What every poster prints (the fixed captions) and the commonest characters
# of place names: a poster font must map each of them to a glyph.
CJK_PROBE = "党群服务中心社区街道政务示范岗商户微信扫一扫打开小程序号路"
FONTCONFIG_PATTERN = "Noto Sans CJK SC:lang=zh"
FONTCONFIG_TIMEOUT_SECONDS = 10

FontFace = tuple[str, int]  # (font file, face index inside a collection)

_found: list[FontFace | None] = []  # the one lookup, cached: [face or None]
_lock = threading.Lock()


class PosterFontMissing(ServiceUnavailable):
    """No font that draws Chinese is installed: a poster would print boxes."""

    code = "poster_font_missing"
    zh = "服务器未安装中文字体，无法打印海报：请安装 fonts-noto-cjk（./dev install）或设置 POSTER_FONT。"
    en = ("No font that draws Chinese is installed, so posters cannot be printed: install "
          "fonts-noto-cjk (./dev install) or set POSTER_FONT to a CJK font file.")

    def __init__(self) -> None:
        # Not a retry: an operator has to install the font (no Retry-After).
        super().__init__({"dependency": "poster_font"})


def font_path() -> FontFace | None:
    """The face posters draw with, ``(file, face index)``, or None when no
    font covers Chinese. Looked up once per process (see :func:`forget_font`)."""
    with _lock:
        if not _found:
            _found.append(_find_font())
        return _found[0]


def require_font() -> FontFace:
    """As :func:`font_path`, raising :class:`PosterFontMissing` instead of None."""
    found = font_path()
    if found is None:
        raise PosterFontMissing()
    return found


def forget_font() -> None:
    """Look the font up again next time (after ``POSTER_FONT`` changed)."""
    with _lock:
        _found.clear()


def candidates() -> list[FontFace]:
    """Where to look, in order: ``POSTER_FONT``, fontconfig's match, fontconfig's Chinese fonts."""
    override = os.environ.get("POSTER_FONT")
    found: list[FontFace] = [(override, 0)] if override else []
    matched = _fontconfig("fc-match", "-f", "%{file}|%{index}", FONTCONFIG_PATTERN)
    listed = _fontconfig("fc-list", "-f", "%{file}|%{index}\n", ":lang=zh")
    for line in [*matched.splitlines(), *sorted(listed.splitlines())]:
        face = parse_face(line)
        if face is not None and face not in found:
            found.append(face)
    return found


def parse_face(line: str) -> FontFace | None:
    """``file|index`` as fontconfig prints it, or None for an empty line."""
    path, _, index = line.strip().partition("|")
    if not path:
        return None
    return path, int(index) if index.isdigit() else 0


def _fontconfig(*command: str) -> str:
    """What a fontconfig tool prints; empty when it is not installed or fails."""
    try:
        return subprocess.run(command, capture_output=True, text=True, check=False,
                              timeout=FONTCONFIG_TIMEOUT_SECONDS).stdout
    except (OSError, subprocess.SubprocessError) as error:
        log.warning("%s failed: %s", command[0], error)
        return ""


def _find_font() -> FontFace | None:
    override = os.environ.get("POSTER_FONT")
    tried = candidates()
    for path, index in tried:
        if covers(path, index, CJK_PROBE):
            if override and path != override:
                log.error("POSTER_FONT=%s cannot draw Chinese; using %s", override, path)
            return path, index
    log.error("no font that draws Chinese was found (tried %s): posters and plates answer 503 "
              "poster_font_missing; install fonts-noto-cjk (./dev install) or set POSTER_FONT",
              ", ".join(path for path, _ in tried) or "nothing: fontconfig lists no Chinese font")
    return None


def missing_characters(path: str, index: int, text: str) -> set[str] | None:
    """The characters of ``text`` (spaces aside) the face has no glyph for;
    None when the file is not a font that opens."""
    try:
        with TTFont(path, fontNumber=index, lazy=True) as font:
            cmap = font.getBestCmap() or {}
    except (OSError, TTLibError, ValueError, KeyError, AssertionError) as error:
        log.warning("font %s (face %s) does not open: %s", path, index, error)
        return None
    return {char for char in text if not char.isspace() and ord(char) not in cmap}


def covers(path: str, index: int, text: str) -> bool:
    """Whether the face maps every character of ``text`` to a glyph."""
    return missing_characters(path, index, text) == set()


def covers_chinese(path: str, index: int = 0) -> bool:
    """Whether the face draws the characters every poster prints."""
    return covers(path, index, CJK_PROBE)


def log_if_missing() -> None:
    """At start (production): say now, not at the first print, that posters cannot print."""
    font_path()
