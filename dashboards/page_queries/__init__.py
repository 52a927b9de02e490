"""The queries that keep the dashboard's cost flat at 13,000 groups: the sidebar's group search,
titles of the groups a page shows, and every per-group (or per-channel) table a page at a time
(:class:`dashboards.paging.Paged`: ``ORDER BY ... LIMIT ... OFFSET`` in SQL, and the total).

Same rules as :mod:`dashboards.queries`, which names these loaders in its ``QUERIES``:
analytics tables and configuration only, every query within the viewer's scope and (for daily
tables) bounded by a ``day`` range, a synchronous engine in, a frame or a page out.
"""

from dashboards.page_queries.catalog import (
    SEARCH_LIMIT,
    load_channel_titles,
    load_channels_page,
    load_group_counts,
    load_group_search,
    load_group_titles,
    load_groups_page,
    load_largest_groups,
)
from dashboards.page_queries.chats import (
    load_channel_ranking,
    load_invite_links_page,
    load_rights_known,
    load_rights_lacking,
    load_topics_page,
)
from dashboards.page_queries.funnel import (
    FUNNEL_FLOWS,
    FUNNEL_REQUESTS,
    load_funnel_days,
    load_funnel_group_tables,
)
from dashboards.page_queries.groups import (
    RANKED,
    load_group_leaders,
    load_group_ranking,
    load_growth_groups,
)
from dashboards.page_queries.members import load_member_totals

__all__ = [
    "FUNNEL_FLOWS",
    "FUNNEL_REQUESTS",
    "RANKED",
    "SEARCH_LIMIT",
    "load_channel_ranking",
    "load_channel_titles",
    "load_channels_page",
    "load_funnel_days",
    "load_funnel_group_tables",
    "load_group_counts",
    "load_group_leaders",
    "load_group_ranking",
    "load_group_search",
    "load_group_titles",
    "load_groups_page",
    "load_growth_groups",
    "load_invite_links_page",
    "load_largest_groups",
    "load_member_totals",
    "load_rights_known",
    "load_rights_lacking",
    "load_topics_page",
]
