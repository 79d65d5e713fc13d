"""Streamlit components shared by the lab pages: data picker, player, URL state, runners.

The only Streamlit code outside ``pages/``; the core never imports it.
"""
