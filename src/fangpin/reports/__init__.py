"""Reports: dashboard figures, statistics, Excel reports. For now only the dashboard stub."""
