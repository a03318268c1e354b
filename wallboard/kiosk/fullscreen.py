"""Full screen that really covers the display, on X with no window manager too.

Kivy's ``fullscreen = "auto"`` asks SDL for a desktop-sized full-screen window. On X, SDL does
that by asking the window manager (``_NET_WM_STATE_FULLSCREEN``); SDL then reports the
display's size to Kivy at once, whether or not anyone obliged. A kiosk on X often has no window
manager (``xinit``, ``xvfb-run``), so the X window stays at Kivy's default 800x600 while Kivy
lays out for the whole display: the screen showed an 800x600 corner of a 1920x1080 layout.

``cover_display`` makes the X window what SDL believes it is: the display's position and size,
set directly, as X lets a client do when no window manager is there. With a window manager the
window is its child, not the root's, and is left alone. On KMS/DRM there is no X and nothing to
do: SDL's KMS/DRM window is always the size of the display mode.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from typing import Any

log = logging.getLogger(__name__)

Box = tuple[int, int, int, int]  # x, y, width, height


def cover_display(window: Any) -> Box | None:
    """Stretch an X window no window manager made full screen; the new box, or None."""
    info = window._win.get_window_info()  # SDL's native handles; Kivy has no public API
    if type(info).__name__ != "WindowInfoX11" or not info.display or not info.window:
        return None
    xlib = _xlib()
    if xlib is None:
        log.warning("kiosk: libX11 not found; cannot check the window covers the display")
        return None
    x, y = window._win.get_window_pos()
    width, height = window.system_size
    wanted: Box = (int(x), int(y), int(width), int(height))
    actual, managed = _geometry(xlib, info.display, info.window)
    if managed or actual == wanted:
        return None
    xlib.XMoveResizeWindow(info.display, info.window, *wanted)
    xlib.XRaiseWindow(info.display, info.window)
    xlib.XSync(info.display, 0)
    log.info("kiosk: no window manager made the window full screen; stretched it from %s "
             "to %s", actual, wanted)
    return wanted


def _geometry(xlib: Any, display: int, window: int) -> tuple[Box, bool]:
    """The window's box in its parent, and whether a window manager has reparented it."""
    root, parent = ctypes.c_ulong(), ctypes.c_ulong()
    children, count = ctypes.POINTER(ctypes.c_ulong)(), ctypes.c_uint()
    xlib.XQueryTree(display, window, ctypes.byref(root), ctypes.byref(parent),
                    ctypes.byref(children), ctypes.byref(count))
    if children:
        xlib.XFree(children)
    x, y = ctypes.c_int(), ctypes.c_int()
    w, h, border, depth = ctypes.c_uint(), ctypes.c_uint(), ctypes.c_uint(), ctypes.c_uint()
    xlib.XGetGeometry(display, window, ctypes.byref(root), ctypes.byref(x), ctypes.byref(y),
                      ctypes.byref(w), ctypes.byref(h), ctypes.byref(border),
                      ctypes.byref(depth))
    return (x.value, y.value, w.value, h.value), parent.value != root.value


def _xlib() -> Any:
    """libX11 with the few calls used here typed, or None."""
    name = ctypes.util.find_library("X11") or "libX11.so.6"
    try:
        xlib = ctypes.CDLL(name)
    except OSError:
        return None
    ptr, win, uint, int_ = ctypes.c_void_p, ctypes.c_ulong, ctypes.c_uint, ctypes.c_int
    out_win, out_int, out_uint = (ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.c_int),
                                  ctypes.POINTER(ctypes.c_uint))
    xlib.XQueryTree.argtypes = [ptr, win, out_win, out_win,
                                ctypes.POINTER(ctypes.POINTER(ctypes.c_ulong)), out_uint]
    xlib.XGetGeometry.argtypes = [ptr, win, out_win, out_int, out_int, out_uint, out_uint,
                                  out_uint, out_uint]
    xlib.XMoveResizeWindow.argtypes = [ptr, win, int_, int_, uint, uint]
    xlib.XRaiseWindow.argtypes = [ptr, win]
    xlib.XSync.argtypes = [ptr, int_]
    xlib.XFree.argtypes = [ptr]
    return xlib
