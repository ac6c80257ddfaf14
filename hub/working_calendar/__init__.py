"""The hub's one working-day calendar (SPEC §6): official schedules, and provisional days beyond them."""

from hub.working_calendar.service import CalendarService, calendar_dirs
from hub.working_calendar.workdays import DueDay, WorkingCalendar, china_date, end_of_day_ms

__all__ = ["CalendarService", "DueDay", "WorkingCalendar", "calendar_dirs", "china_date", "end_of_day_ms"]
