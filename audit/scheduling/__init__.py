"""Running the audit on a schedule: cron, systemd user timers, launchd agents."""
