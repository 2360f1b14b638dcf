"""Reports: the dashboard's figures and charts, the statistics page and its Excel exports."""
