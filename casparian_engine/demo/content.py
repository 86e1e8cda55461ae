"""Deterministic content of the demo files: one builder per format, each returning (path, bytes).

Every builder draws only from the ``random.Random`` it is given, so a seed fixes every byte. Rows
are assembled from pools of pre-formatted fragments and joined once per file; the bulk invoice CSVs
never format a row in Python (one ``str.join`` per file).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import random
from dataclasses import dataclass
from typing import Protocol

DEMO_START = dt.date(2023, 1, 1)
DEMO_DAYS = 731  # 2023-01-01 .. 2024-12-31

INVOICE_HEADER = (
    "invoice_id,issued_on,customer_id,sku,description,quantity,unit_price,amount,currency\n"
)
INVOICE_POOL_SIZE = 5000
INVOICE_BAD_AMOUNT_EVERY = 500  # one line item in 500 has an amount that is not a number
BAD_AMOUNTS = ("N/A", "#VALUE!", "TBD", '"12,50 EUR"', "n.a.")

SENSOR_HEADER = "timestamp;sensor_id;temperature_c;humidity_pct;battery_v\n"
SENSOR_ROWS_PER_DAY = 96  # one reading every 15 minutes

FIXED_WIDTH_RECORD_LENGTH = 65

_PRODUCTS = (
    ("SKU-1001", "Copy paper A4, 500 sheets", 4.99),
    ("SKU-1002", "Ballpoint pens (box of 50)", 12.5),
    ("SKU-1003", "Stapler", 8.25),
    ("SKU-2001", "USB-C cable 2m", 9.9),
    ("SKU-2002", "HDMI cable, 3m", 11.4),
    ("SKU-2003", "Wireless mouse", 24.0),
    ("SKU-2004", "Keyboard, German layout", 39.95),
    ("SKU-2005", '27" monitor', 229.0),
    ("SKU-3001", "Coffee beans 1kg", 18.9),
    ("SKU-3002", "Milk, oat (1l)", 2.15),
    ("SKU-3003", "Tea assortment", 6.75),
    ("SKU-4001", "Safety gloves, size L", 3.4),
    ("SKU-4002", "Hard hat", 21.0),
    ("SKU-4003", "Hi-vis vest", 7.8),
    ("SKU-5001", "Pallet wrap 500mm", 15.6),
    ("SKU-5002", "Packing tape, brown", 2.95),
    ("SKU-5003", "Cardboard box 40x30x30", 1.35),
    ("SKU-6001", "Service call (hourly)", 85.0),
    ("SKU-6002", "Travel flat fee", 45.0),
    ("SKU-6003", "Software licence, annual", 480.0),
)
_CURRENCIES = ("EUR",) * 6 + ("USD",) * 3 + ("GBP",)
_SITES = ("plant-a", "plant-b", "warehouse")
_LOG_HOSTS = ("web-01", "web-02", "db-01", "batch-01")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ACCOUNT_NAMES = (
    "MÜLLER & SÖHNE GMBH",
    "CAFÉ DE LA GARE SARL",
    "SMITH HOLDINGS LTD",
    "NORDIC TIMBER AB",
    "BÄCKEREI KRÄMER",
    "ACME TRADING CO",
    "GARCÍA Y HIJOS SL",
    "OSTERHOLM LOGISTIK",
    "BRIGHTON MARINE SUPPLIES",
    "ZÜRCHER PRÄZISION AG",
)
_REGIONS = ("DE01", "DE02", "FR01", "UK01", "SE01", "ES01", "CH01")
_BANK_CREDITS = ("SALARY ACME TRADING", "TRANSFER FROM J SMITH", "REFUND AMAZON MKTPLACE")
_BANK_PAYEES = (
    "CARD PAYMENT TESCO STORES",
    "DIRECT DEBIT BRITISH GAS",
    "CARD PAYMENT SHELL 4411",
    "TRANSFER TO SAVINGS",
    "STANDING ORDER RENT",
    "CARD PAYMENT AMAZON MKTPLACE",
    "ATM WITHDRAWAL HIGH ST",
)


@dataclass(frozen=True)
class DemoFile:
    """One file to write: its path under ``files/``, its bytes and its fixed modification time."""

    relative_path: str
    content: bytes
    mtime_ns: int


class FileBuilder(Protocol):
    """Builds file ``index`` of one format; knows which indices carry a deliberate oddity."""

    def build(self, index: int) -> DemoFile: ...

    def special_cases(self) -> dict[str, int]: ...


def day(index: int, count: int) -> dt.date:
    """The date of item ``index`` of ``count`` spread evenly over the demo period."""
    return DEMO_START + dt.timedelta(days=(index * DEMO_DAYS) // max(count, 1))


def mtime_ns(date: dt.date, seconds_into_day: int) -> int:
    """A fixed UTC modification time on ``date``, in nanoseconds."""
    moment = dt.datetime(date.year, date.month, date.day, tzinfo=dt.UTC)
    return (int(moment.timestamp()) + seconds_into_day) * 1_000_000_000


def _quote_csv(text: str) -> str:
    return f'"{text}"' if ("," in text or '"' in text) else text


class InvoiceBuilder:
    """Bulk comma CSVs of one schema: ``invoices/YYYY/MM/inv_NNNNNN.csv``, ~100 line items each."""

    def __init__(self, rng: random.Random, count: int) -> None:
        self.rng = rng
        self.count = count
        products = [
            (sku, _quote_csv(desc.replace('"', '""')), price) for sku, desc, price in _PRODUCTS
        ]
        pool: list[str] = []
        for position in range(INVOICE_POOL_SIZE):
            sku, desc, price = products[rng.randrange(len(products))]
            quantity = rng.randint(1, 48)
            amount = f"{quantity * price:.2f}"
            if position % INVOICE_BAD_AMOUNT_EVERY == INVOICE_BAD_AMOUNT_EVERY // 2:
                amount = BAD_AMOUNTS[(position // INVOICE_BAD_AMOUNT_EVERY) % len(BAD_AMOUNTS)]
            pool.append(f"{sku},{desc},{quantity},{price:.2f},{amount}")
        self._line_items = pool + pool  # a slice of up to INVOICE_POOL_SIZE never wraps
        self.bom_crlf_index = count // 3 if count >= 3 else -1
        self.extra_column_index = count // 2 if count >= 3 else -1

    def special_cases(self) -> dict[str, int]:
        """Which files carry a deliberate oddity (by index)."""
        return {"bom_crlf_csv": self.bom_crlf_index, "extra_column_row": self.extra_column_index}

    def build(self, index: int) -> DemoFile:
        rng = self.rng
        issued = day(index, self.count)
        invoice_id = f"INV-{index:06d}"
        row_prefix = f"{invoice_id},{issued.isoformat()},CUST-{rng.randrange(1, 400):04d},"
        row_suffix = "," + _CURRENCIES[rng.randrange(len(_CURRENCIES))]
        row_count = rng.randint(80, 120)
        start = rng.randrange(INVOICE_POOL_SIZE)
        items = self._line_items[start : start + row_count]
        if index == self.extra_column_index:
            items = list(items)
            items[4] = items[4] + ",see attached note"
        body = (
            INVOICE_HEADER
            + row_prefix
            + (row_suffix + "\n" + row_prefix).join(items)
            + row_suffix
            + "\n"
        )
        if index == self.bom_crlf_index:
            content = ("\ufeff" + body.replace("\n", "\r\n")).encode("utf-8")
        else:
            content = body.encode("ascii")
        path = f"invoices/{issued.year}/{issued.month:02d}/inv_{index:06d}.csv"
        return DemoFile(path, content, mtime_ns(issued, 64800 + index % 3600))


class SensorBuilder:
    """Semicolon CSV exports with a preamble line and decimal commas, one sensor-day per file."""

    def __init__(self, rng: random.Random, count: int) -> None:
        self.rng = rng
        self.count = count
        self.sensor_ids = [f"TH-{n:04d}" for n in range(1, min(12, max(count, 1)) + 1)]
        self._times = [f"{m // 60:02d}:{m % 60:02d}:00" for m in range(0, 1440, 15)]
        readings: list[str] = []
        for _ in range(1024):
            temperature = f"{rng.uniform(14.0, 31.0):.1f}".replace(".", ",")
            humidity = f"{rng.uniform(25.0, 80.0):.1f}".replace(".", ",")
            battery = f"{rng.uniform(3.1, 3.7):.2f}".replace(".", ",")
            readings.append(f"{temperature};{humidity};{battery}")
        self._readings = readings + readings
        self.not_available_index = count // 2

    def special_cases(self) -> dict[str, int]:
        """Which files carry a deliberate oddity (by index)."""
        return {"not_available_values": self.not_available_index}

    def build(self, index: int) -> DemoFile:
        sensor_position = index % len(self.sensor_ids)
        sensor_id = self.sensor_ids[sensor_position]
        site = _SITES[sensor_position % len(_SITES)]
        reading_day = DEMO_START + dt.timedelta(days=index // len(self.sensor_ids))
        start = self.rng.randrange(1024)
        readings = self._readings[start : start + SENSOR_ROWS_PER_DAY]
        if index == self.not_available_index:
            readings = list(readings)
            for position in (7, 8, 40):
                temperature, _, battery = readings[position].split(";")
                readings[position] = f"{temperature};N/A;{battery}"
        stamp = reading_day.isoformat()
        rows = [
            f"{stamp} {time};{sensor_id};{reading}"
            for time, reading in zip(self._times, readings, strict=True)
        ]
        preamble = (
            f"SensorHub export v4.2;device={sensor_id};site={site};timezone=UTC;"
            f"exported={reading_day.isoformat()}T23:59:30Z\n"
        )
        content = (preamble + SENSOR_HEADER + "\n".join(rows) + "\n").encode("ascii")
        path = f"sensors/{site}/{stamp[:7]}/{sensor_id}_{stamp.replace('-', '')}.csv"
        return DemoFile(path, content, mtime_ns(reading_day, 86370))


_LOG_MESSAGES = (
    ("sshd", "Accepted publickey for deploy from 10.0.{a}.{b} port {port} ssh2"),
    ("sshd", "Failed password for invalid user admin from 203.0.113.{b} port {port} ssh2"),
    ("CRON", "(root) CMD (/usr/local/bin/rotate-logs --daily)"),
    ("nginx", '10.0.{a}.{b} - - "GET /api/v1/orders?page={a} HTTP/1.1" 200 {port}'),
    ("kernel", "TCP: request_sock_TCP: Possible SYN flooding on port {b}. Sending cookies."),
    ("systemd", "Started Session {port} of user deploy."),
    ("postgres", "LOG:  checkpoint complete: wrote {a} buffers"),
    ("postgres", "ERROR:  deadlock detected"),
)


class SyslogBuilder:
    """Syslog-style text logs, one host-day per file; some entries carry continuation lines."""

    def __init__(self, rng: random.Random, count: int) -> None:
        self.rng = rng
        self.count = count

    def special_cases(self) -> dict[str, int]:
        """Which files carry a deliberate oddity (none: continuation lines occur naturally)."""
        return {}

    def build(self, index: int) -> DemoFile:
        rng = self.rng
        host = _LOG_HOSTS[index % len(_LOG_HOSTS)]
        log_day = DEMO_START + dt.timedelta(days=index // len(_LOG_HOSTS))
        line_count = rng.randint(150, 250)
        seconds = sorted(rng.sample(range(86400), line_count))
        day_prefix = f"{_MONTHS[log_day.month - 1]} {log_day.day:>2} "
        lines: list[str] = []
        for second in seconds:
            program, template = _LOG_MESSAGES[rng.randrange(len(_LOG_MESSAGES))]
            if template.endswith("deadlock detected") and rng.random() > 0.1:
                program, template = _LOG_MESSAGES[2]  # deadlocks are rare; cron is not
            message = template.format(
                a=rng.randrange(256), b=rng.randrange(1, 255), port=rng.randrange(1024, 65535)
            )
            pid = rng.randrange(300, 32000)
            clock = f"{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
            if program == "kernel":
                lines.append(f"{day_prefix}{clock} {host} kernel: {message}")
            else:
                lines.append(f"{day_prefix}{clock} {host} {program}[{pid}]: {message}")
            if message.endswith("deadlock detected"):
                lines.append(
                    f"\tDETAIL:  Process {pid} waits for ShareLock on transaction {second}"
                )
        path = f"logs/{host}/syslog-{log_day.strftime('%Y%m%d')}.log"
        content = ("\n".join(lines) + "\n").encode("ascii")
        return DemoFile(path, content, mtime_ns(log_day, 86399))


_EVENT_NAMES = ("page_view",) * 6 + ("add_to_cart", "checkout", "signup", "search")
_EVENT_PATHS = ("/", "/pricing", "/docs", "/blog/launch", "/cart", "/account", "/search")


class EventsBuilder:
    """JSON lines from a web app, one file per day; optional fields come and go."""

    def __init__(self, rng: random.Random, count: int) -> None:
        self.rng = rng
        self.count = count
        bodies: list[str] = []
        for _ in range(2048):
            event = _EVENT_NAMES[rng.randrange(len(_EVENT_NAMES))]
            record: dict[str, object] = {
                "user_id": rng.randrange(1, 5000),
                "session": f"s-{rng.getrandbits(32):08x}",
                "event": event,
                "path": _EVENT_PATHS[rng.randrange(len(_EVENT_PATHS))],
            }
            if event == "page_view":
                record["duration_ms"] = rng.randrange(40, 30000)
            if event == "search":
                record["query"] = rng.choice(("invoice", "pricing", "données", "csv export"))
            if event == "checkout":
                record["cart_total"] = round(rng.uniform(5, 900), 2)
            bodies.append(json.dumps(record, ensure_ascii=False, separators=(",", ":"))[1:])
        self._bodies = bodies + bodies

    def special_cases(self) -> dict[str, int]:
        """Which files carry a deliberate oddity (none)."""
        return {}

    def build(self, index: int) -> DemoFile:
        rng = self.rng
        event_day = day(index, self.count)
        line_count = rng.randint(100, 150)
        seconds = sorted(rng.sample(range(86400), line_count))
        start = rng.randrange(2048)
        stamp = event_day.isoformat()
        lines = [
            f'{{"ts":"{stamp}T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z",{body}'
            for s, body in zip(seconds, self._bodies[start : start + line_count], strict=True)
        ]
        path = f"events/{stamp[:4]}/{stamp[5:7]}/{stamp[8:]}/app-events-{index:05d}.jsonl"
        return DemoFile(path, ("\n".join(lines) + "\n").encode("utf-8"), mtime_ns(event_day, 86399))


class FixedWidthBuilder:
    """Legacy ERP account exports: cp1252, CRLF, header/detail/trailer records of fixed width."""

    def __init__(self, rng: random.Random, count: int) -> None:
        self.rng = rng
        self.count = count
        self.truncated_record_index = 0

    def special_cases(self) -> dict[str, int]:
        """Which files carry a deliberate oddity (by index)."""
        return {"truncated_fixed_width_record": self.truncated_record_index}

    def build(self, index: int) -> DemoFile:
        rng = self.rng
        year, quarter = 2023 + (index // 4) % 2, index % 4 + 1
        export_day = dt.date(year, quarter * 3, 28)
        records = []
        for _ in range(rng.randint(200, 300)):
            balance = f"{rng.uniform(-50000, 250000):.2f}"
            opened = dt.date(2005, 1, 1) + dt.timedelta(days=rng.randrange(6500))
            records.append(
                "D"
                + f"{rng.randrange(10**9, 10**10)}"
                + _ACCOUNT_NAMES[rng.randrange(len(_ACCOUNT_NAMES))].ljust(30)[:30]
                + balance.rjust(12)
                + opened.strftime("%Y%m%d")
                + _REGIONS[rng.randrange(len(_REGIONS))]
            )
        if index == self.truncated_record_index:
            records[9] = records[9][:40]
        header = f"HERPEXPORT ACCOUNTS {export_day.strftime('%Y%m%d')}"
        trailer = f"T{len(records):09d}"
        text = "\r\n".join([header, *records, trailer]) + "\r\n"
        suffix = "" if index < 8 else f"_{index // 8:03d}"
        path = f"legacy/erp/ACCT_EXPORT_{year}Q{quarter}{suffix}.TXT"
        return DemoFile(path, text.encode("cp1252"), mtime_ns(export_day, 79200))


class StatementBuilder:
    """Bank statement CSVs with day-first two-digit-year dates such as ``31/05/24``."""

    def __init__(self, rng: random.Random, count: int) -> None:
        self.rng = rng
        self.count = count

    def special_cases(self) -> dict[str, int]:
        """Which files carry a deliberate oddity (all of them use day-first dates)."""
        return {"day_first_dates": 0}

    def build(self, index: int) -> DemoFile:
        rng = self.rng
        bank = ("northbank", "citysave")[index % 2]
        month_start = dt.date(2023 + (index // 2 // 12) % 2, (index // 2) % 12 + 1, 1)
        balance = rng.uniform(500, 5000)
        rows = ["Date,Description,Amount,Balance"]
        for day_of_month in sorted(rng.sample(range(28), rng.randint(20, 27))):
            posted = month_start + dt.timedelta(days=day_of_month)
            if rng.random() < 0.9:
                amount = rng.uniform(-180, -2)
                payee = _BANK_PAYEES[rng.randrange(len(_BANK_PAYEES))]
            else:
                amount = rng.uniform(900, 2600)
                payee = _BANK_CREDITS[rng.randrange(len(_BANK_CREDITS))]
            balance += amount
            rows.append(f"{posted.strftime('%d/%m/%y')},{payee},{amount:.2f},{balance:.2f}")
        suffix = "" if index < 48 else f"_{index // 48:03d}"
        path = f"finance/statements/{bank}/stmt_{month_start.strftime('%Y-%m')}{suffix}.csv"
        content = ("\n".join(rows) + "\n").encode("ascii")
        return DemoFile(path, content, mtime_ns(month_start, 3600))


def odd_files(rng: random.Random, invoice_sample: bytes) -> list[tuple[str, DemoFile]]:
    """Files that break things: binary junk named .csv, an empty file, a truncated gzip."""
    when = mtime_ns(dt.date(2024, 6, 3), 30000)
    junk = b"\x89\x00\x1f\xff" + rng.randbytes(4092)
    archive = gzip.compress(invoice_sample * 20, mtime=0)
    return [
        ("binary_junk_csv", DemoFile("incoming/scan_0001.csv", junk, when)),
        ("empty_file", DemoFile("incoming/empty.csv", b"", when)),
        (
            "truncated_gzip",
            DemoFile("incoming/archive_2023-12.csv.gz", archive[: len(archive) * 2 // 3], when),
        ),
    ]
