"""The developer's cockpit: what the `emu` commands, the console and the dashboard share."""
