"""What each page shows, computed from query results: one module per page.

Each module has pure functions (frames in, frames and numbers out) and one ``load`` that runs
the page's queries through a :class:`dashboards.cache.Run` and applies them. The page scripts
in ``dashboards/views/`` render what ``load`` returns; ``bench/dashboard.py`` times the same
``load`` calls with an uncached runner. No Streamlit here.
"""
