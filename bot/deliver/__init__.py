"""Delivery: formatting alerts and handing them to the terminal, Telegram or Apprise channels."""
