"""The demo: bundled feeds served on 127.0.0.1, polled with the shipped rules, alerts in the terminal."""
