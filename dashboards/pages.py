"""The dashboard's pages: (script under ``dashboards/``, title, icon, URL path), in sidebar order.

Kept apart from ``app.py`` (which Streamlit runs as a script) so that other code can list the
pages without running the dashboard: the README screenshots (:mod:`cli.demo.screenshots`).
"""

from __future__ import annotations

PAGES: tuple[tuple[str, str, str, str], ...] = (
    ("views/overview.py", "Overview", ":material/dashboard:", "overview"),
    ("views/alerts.py", "Alerts", ":material/notifications:", "alerts"),
    ("views/funnel.py", "Funnel", ":material/filter_alt:", "funnel"),
    ("views/verification.py", "Verification", ":material/verified_user:", "verification"),
    ("views/activity.py", "Activity", ":material/monitoring:", "activity"),
    ("views/growth.py", "Growth", ":material/trending_up:", "growth"),
    ("views/groups.py", "Groups & channels", ":material/groups:", "groups"),
    ("views/api_calls.py", "API calls", ":material/api:", "api-calls"),
    ("views/summaries.py", "Summaries", ":material/summarize:", "summaries"),
)

OPERATOR_PAGES = frozenset({"api-calls"})
"""URL paths of the pages only the operator sees (every group's figures): hidden from a
signed-in owner's navigation, and their queries refuse a scoped viewer."""


def visible_pages(operator: bool) -> tuple[tuple[str, str, str, str], ...]:
    """The pages a viewer's navigation lists: every page for the operator."""
    return tuple(p for p in PAGES if operator or p[3] not in OPERATOR_PAGES)
