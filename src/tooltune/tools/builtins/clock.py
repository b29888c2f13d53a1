"""current_time: the date and time now, in a given IANA time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tooltune.tools.tool import Tool


def current_time(timezone: str = "UTC") -> dict[str, str]:
    """Return the current date and time.

    A JSON object (`datetime`, `timezone`, `weekday`), like every built-in tool's result: the
    shape the recipe's corpus taught the shipped adapter to read.

    Args:
        timezone: IANA time zone name such as "UTC", "Europe/Paris" or "Asia/Shanghai".
    """
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {timezone!r}; use an IANA name like 'Asia/Shanghai'") from None
    now = datetime.now(zone)
    return {"datetime": now.strftime("%Y-%m-%d %H:%M:%S"), "timezone": timezone, "weekday": now.strftime("%A")}


def current_time_tool() -> Tool:
    clock = Tool.from_function(current_time, name="current_time", description="Get the current date and time in a time zone.")
    clock.time_sensitive = True  # a remembered time is never the time now
    return clock
