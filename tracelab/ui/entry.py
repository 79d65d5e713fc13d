"""Make every page run through ``app.py``, even on a server's very first visit.

Streamlit still discovers a ``pages/`` folder next to the main script (its
first multipage scheme) until some session has called ``st.navigation``. So
the first student to open a shared link such as ``/em?step=5`` on a freshly
started server would get that page alone: no page set-up, a different
sidebar. Each page calls :func:`through_app` first; in that case it switches
the legacy scheme off and reruns, and the rerun goes through ``app.py``,
which opens the page the link names.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

__all__ = ["through_app"]


def through_app() -> None:
    """Rerun through ``app.py`` if this page was started by folder discovery."""
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
