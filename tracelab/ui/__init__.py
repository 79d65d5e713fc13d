"""Streamlit components shared by the lab pages: data picker, player, URL state, runners.

The only Streamlit code outside ``pages/``; the core and the views never import it.
These modules may import the core and the views.
"""
