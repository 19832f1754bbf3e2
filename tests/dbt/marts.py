"""The mart tables the bundled dbt project builds (dbt/models/marts), for dbt and flow tests."""

MARTS = {
    "marts.comment_threads",
    "marts.daily_activity",
    "marts.link_domains",
    "marts.story_feed",
    "marts.top_stories_per_day",
    "marts.user_leaderboard",
}
