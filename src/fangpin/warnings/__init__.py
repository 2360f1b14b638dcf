"""High-cost early warning in the database: screening runs, cases and their closed-loop follow-up
(RULES §4): 数据筛查—分级处置—帮扶反馈."""
