"""The data contract written next to the columns (``Column.info``): keys, measures and the
columns that name a person, as the pipelines, the dashboard and the erasure read them."""

from core.models import (
    ANALYTICS_TABLES,
    PII,
    Base,
    ChatKind,
    SummaryLanguage,
    SummaryMethod,
    key_columns,
    measure_columns,
    pii_columns,
)


def test_every_analytics_table_has_a_key_that_starts_with_day():
    for name in ANALYTICS_TABLES:
        key = key_columns(name)
        assert key[0] == "day", name
        table = Base.metadata.tables[name]
        assert set(key) | set(measure_columns(name)) | {"id"} == set(table.columns.keys())


def test_keys_from_unique_constraints_and_from_marked_columns():
    # a unique constraint
    assert key_columns("analytics_group_daily") == ("day", "group_id")
    assert key_columns("analytics_topic_daily") == ("day", "group_id", "message_thread_id")
    # no constraint: the columns marked info=KEY (their rows may hold NULLs)
    assert key_columns("analytics_verification_daily") == (
        "day", "group_id", "status", "cached", "error_type", "trigger",
    )  # fmt: skip
    assert key_columns("analytics_latency_histogram_daily") == ("day", "source", "bucket_le_ms")
    assert key_columns("summaries") == ()


def test_measures_follow_the_table_order():
    assert measure_columns("analytics_all_groups_hourly") == ("verifications", "messages", "joins")
    assert measure_columns("analytics_invite_link_daily") == ("joins", "passed", "left")
    funnel = measure_columns("analytics_funnel_daily")
    assert funnel[:2] == ("joined", "prompted") and funnel[-1] == "messages_deleted"


def test_every_column_that_names_a_person_is_marked():
    """What an erasure deletes, blanks, rewrites and shows (docs/PRIVACY.md): changing a
    marker changes what is erased, so the sets are pinned."""
    assert set(pii_columns(PII.OWN)) == {
        ("messages", "user_id"),
        ("verification_log", "user_id"),
        ("gate_events", "user_id"),
        ("member_events", "user_id"),
        ("reaction_events", "user_id"),
        ("user_restrictions", "user_id"),
        ("access_list", "subject_id"),
        ("alert_deliveries", "recipient_chat_id"),
    }
    assert set(pii_columns(PII.OWN_KEY)) == {
        ("users", "id"),
        ("owners", "id"),
        ("bot_private_chats", "user_id"),
    }
    assert pii_columns(PII.DELETE) == [("bot_rights", "chat_id"), ("group_admins", "user_id")]
    assert set(pii_columns(PII.ACTOR)) == {
        ("admin_audit_log", "actor_id"),
        ("protected_groups", "owner_id"),
    }
    assert set(pii_columns(PII.BLANK)) == {
        ("api_call_log", "user_id"),
        ("api_call_log", "chat_id"),
        ("access_list", "added_by"),
        ("group_channel_links", "created_by"),
    }
    assert set(pii_columns(PII.JSON)) == {
        ("admin_audit_log", "changes"),
        ("gate_events", "detail"),
        ("alerts", "details"),
    }
    assert set(pii_columns(PII.TEXT)) == {
        ("messages", "content"),
        ("admin_audit_log", "resource"),
        ("access_list", "reason"),
    }


def test_analytics_tables_hold_no_person():
    marked = {table for table, _ in pii_columns(*PII)}
    assert not marked & set(ANALYTICS_TABLES)


def test_value_sets_for_the_generators():
    """The value sets of the analytics and summaries columns are importable from core."""
    assert [k.value for k in ChatKind] == ["group", "channel", "other"]
    assert [m.value for m in SummaryMethod] == ["extractive", "llm"]
    assert [lang.value for lang in SummaryLanguage] == ["en", "ru", "uk"]


def test_units_are_written_next_to_the_measures():
    tables = Base.metadata.tables
    assert tables["analytics_verification_daily"].c.latency_ms_max.info["unit"] == "ms"
    assert tables["analytics_latency_histogram_daily"].c.bucket_le_ms.info["unit"] == "ms"
    assert tables["analytics_funnel_daily"].c.verify_s_p90.info["unit"] == "s"
    assert tables["analytics_bot_rights_daily"].c.lacking_s.info["unit"] == "s"
