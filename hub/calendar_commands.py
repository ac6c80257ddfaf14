"""``interop-hub calendar show|check|load``: the working-day calendar and its official schedule files."""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from pathlib import Path

from hub.console import echo
from hub.file_modes import write_private
from hub.settings import HubSettings
from hub.working_calendar import CalendarService, WorkingCalendar, calendar_dirs
from hub.working_calendar.schedule_file import parse_schedule, read_bytes, read_schedule
from hub.working_calendar.service import describe


def _operator_dir(settings: HubSettings) -> Path:
    return calendar_dirs(settings.data_dir)[-1]


def _show(args: argparse.Namespace, settings: HubSettings) -> int:
    service = CalendarService(calendar_dirs(settings.data_dir))
    for line in service.load():
        echo(line)
    if args.year is not None:
        _print_year(service.current, args.year)
    return 0


def _print_year(calendar: WorkingCalendar, year: int) -> None:
    day, rest = date(year, 1, 1), []
    while day.year == year:
        if not calendar.is_working_day(day) and day.weekday() < 5:
            rest.append(day)
        elif calendar.is_working_day(day) and day.weekday() >= 5:
            echo(f"  {day} {day:%a} make-up working day")
        day += timedelta(days=1)
    for d in rest:
        echo(f"  {d} {d:%a} rest day")
    kind = "official" if calendar.covers_officially(year) else "PROVISIONAL"
    echo(f"{year}: {kind}; weekdays resting and weekends working are listed above")


def _check(args: argparse.Namespace, settings: HubSettings) -> int:
    """Validate files (raises CalendarFileError: exit 2) and say what they would change."""
    schedules = [read_schedule(Path(f)) for f in args.files]
    for line in describe(WorkingCalendar(schedules)):
        echo(line)
    return 0


def _load(args: argparse.Namespace, settings: HubSettings) -> int:
    """Validate, then install into the data dir (owner-only); running workers pick it up within seconds."""
    source = Path(args.file)
    data = read_bytes(source)
    schedule = parse_schedule(source, data)  # what is installed is exactly what was validated
    target = _operator_dir(settings) / f"{schedule.year}.toml"
    write_private(target, data)  # workers read *.toml only: they see the old file or the new one
    echo(f"installed {target}")
    service = CalendarService(calendar_dirs(settings.data_dir))
    for line in service.load():
        echo(line)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("calendar", help="the working-day calendar: official schedules, provisional days")
    sub = parser.add_subparsers(dest="calendar_command", required=True)
    show = sub.add_parser("show", help="what the calendar knows officially and where it is provisional")
    show.add_argument("--year", type=int, help="also list the year's rest weekdays and make-up days")
    show.set_defaults(func=_show)
    check = sub.add_parser("check", help="validate schedule files and report what they add or change")
    check.add_argument("files", nargs="+", metavar="FILE", help="<year>.toml")
    check.set_defaults(func=_check)
    load = sub.add_parser("load", help="validate a schedule file and install it into the data dir")
    load.add_argument("file", metavar="FILE", help="<year>.toml")
    load.set_defaults(func=_load)
