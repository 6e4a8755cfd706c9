"""How each persona version has done: turns, thumbs and latency from the conversation log, and the figures of
every evaluation report that measured it. One computation behind `tandem personas stats` and the Prompts tab.

A version is a persona's content hash (`bot.personas.content_hash`): the log records it with every turn and a
report's manifest with every persona it loaded, so a report measured version H of persona P when its manifest
says P was H and one of its cells asked under P.
"""

import json
import statistics
import sys
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

from bot.errors import TandemError
from bot.flags import existing_log_from_flags
from bot.personas import Catalog, catalog_from_flags
from bot.reports import find_reports, load_summary
from bot.store import ConversationStore
from bot.userinput import terminal_text
from bot.versions import describe_change, kept_versions, known_versions

HEADERS = ["persona", "version", "first seen (UTC)", "change", "turns", "thumbs up", "thumbs down", "corrections",
           "median latency (s)", "reports: recall / adherence / unsupported (%)"]


@dataclass
class Measured:
    """One report cell that asked under this version."""

    report: str
    started: str
    cell: str
    answers: int
    recall: float | None
    adherence: float | None
    unsupported: float | None


@dataclass
class VersionStats:
    persona: str
    version: str
    first_seen: str | None
    """The earliest of: its first logged turn, its first report, when its text was kept (UTC, ISO 8601)."""
    current: bool
    """The catalog's persona has this content now."""
    text_kept: bool
    change: str
    """What changed from the version before (by first seen); "text not kept" when either text is unknown."""
    turns: int = 0
    thumbs_up: int = 0
    thumbs_down: int = 0
    corrections: int = 0
    median_latency_s: float | None = None
    reports: list[Measured] = field(default_factory=list)

    @property
    def up_rate(self) -> float | None:
        return round(100 * self.thumbs_up / self.turns, 1) if self.turns else None

    @property
    def down_rate(self) -> float | None:
        return round(100 * self.thumbs_down / self.turns, 1) if self.turns else None

    def as_dict(self) -> dict:
        return {**asdict(self), "thumbs_up_rate": self.up_rate, "thumbs_down_rate": self.down_rate}


def version_stats(catalog: Catalog, store: ConversationStore | None, report_dirs: list[Path],
                  persona_id: str | None = None, since: date | None = None) -> list[VersionStats]:
    """One entry per version of each persona (or of `persona_id`), by persona, oldest version first.

    The versions are every one the log served, a report measured, Tandem kept the text of, or the catalog holds
    now; turns and reports before `since` (a date, UTC) are left out.
    """
    if persona_id is not None and persona_id not in catalog.personas and not kept_versions(persona_id):
        catalog.persona(persona_id)  # neither loaded nor ever kept: one line naming the valid ids
    turns = store.served_turns(since=since, persona=persona_id) if store is not None else []
    measured = _measured(report_dirs, since)
    ids = [persona_id] if persona_id else list(dict.fromkeys(
        [*catalog.personas, *(t["persona_id"] for t in turns), *(p for p, _ in measured)]))
    stats = []
    for pid in ids:
        stats += _persona_versions(pid, catalog.personas.get(pid), [t for t in turns if t["persona_id"] == pid],
                                   {h: cells for (p, h), cells in measured.items() if p == pid})
    return stats


def _persona_versions(persona_id: str, current, turns: list[dict], measured: dict[str, list[Measured]]) -> list[VersionStats]:
    texts = {v.digest: v for v in known_versions(persona_id, current)}
    digests = list(dict.fromkeys([*texts, *(t["persona_hash"] for t in turns), *measured]))
    entries = []
    for digest in digests:
        served = [t for t in turns if t["persona_hash"] == digest]
        kept = texts.get(digest)
        seen = [t["started_at"] for t in served[:1]] + [m.started for m in measured.get(digest, [])]
        if kept is not None and kept.kept_at is not None:
            seen.append(kept.kept_at.isoformat(timespec="seconds"))
        latencies = [t["latency_s"] for t in served if t["latency_s"] is not None]
        entries.append(VersionStats(
            persona=persona_id, version=digest, first_seen=min(seen)[:19] if seen else None,
            current=current is not None and current.content_hash == digest, text_kept=kept is not None, change="",
            turns=len(served), thumbs_up=sum(t["rating"] == 1 for t in served),
            thumbs_down=sum(t["rating"] == -1 for t in served), corrections=sum(bool(t["correction"]) for t in served),
            median_latency_s=round(statistics.median(latencies), 2) if latencies else None,
            reports=measured.get(digest, [])))
    # Never seen anywhere (a catalog version not yet served or measured) sorts last, as the newest.
    entries.sort(key=lambda e: e.first_seen or "9999")
    for previous, entry in zip([None, *entries], entries):
        if entry.version not in texts or (previous is not None and previous.version not in texts):
            entry.change = "text not kept"
        else:
            before = texts[previous.version].persona if previous is not None else None
            entry.change = describe_change(before, texts[entry.version].persona)
    return entries


def _measured(report_dirs: list[Path], since: date | None) -> dict[tuple[str, str], list[Measured]]:
    """(persona id, version) → the report cells that asked under it. A report that cannot be read is skipped:
    one broken directory under reports/ must not hide the others."""
    found: dict[tuple[str, str], list[Measured]] = {}
    for report in find_reports(report_dirs):
        try:
            summary = load_summary(report)
        except TandemError:
            continue
        manifest = summary["manifest"]
        started = _report_time(manifest.get("started"))
        if started is None or (since is not None and started < since.isoformat()):
            continue
        versions = manifest.get("personas") if isinstance(manifest.get("personas"), dict) else {}
        for cell in summary["cells"]:
            persona = cell.get("persona")
            if isinstance(persona, str) and isinstance(versions.get(persona), str):
                found.setdefault((persona, versions[persona]), []).append(Measured(
                    report=str(report), started=started, cell=cell["cell"], answers=cell.get("answers") or 0,
                    recall=cell.get("key_fact_recall"), adherence=cell.get("adherence"),
                    unsupported=cell.get("unsupported_rate")))
    return found


def _report_time(started) -> str | None:
    """A report's start ("2026-11-30T16-24-01", local time) as UTC ISO 8601, comparable with the log's times."""
    try:
        moment = datetime.strptime(str(started)[:19], "%Y-%m-%dT%H-%M-%S")
    except ValueError:
        return None
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


# Showing them ---------------------------------------------------------------------------------------------

def stats_rows(stats: list[VersionStats]) -> list[list[str]]:
    """The table of HEADERS: one row per version, its report figures in the last column."""
    rows = []
    for s in stats:
        reports = "; ".join(f"{Path(m.report).name} · {m.cell}: {_number(m.recall)} / {_number(m.adherence)} / "
                            f"{_number(m.unsupported)}" for m in s.reports)
        rows.append([s.persona, s.version + (" (current)" if s.current else ""), (s.first_seen or "–").replace("T", " "),
                     s.change, str(s.turns), f"{s.thumbs_up} ({_number(s.up_rate)}%)",
                     f"{s.thumbs_down} ({_number(s.down_rate)}%)", str(s.corrections), _number(s.median_latency_s),
                     reports or "–"])
    return rows


def stats_text(stats: list[VersionStats]) -> str:
    """The same figures as the table, one block per version, for a terminal."""
    blocks = []
    for s in stats:
        lines = [f"{s.persona} {s.version}{' (current)' if s.current else ''}  first seen "
                 f"{(s.first_seen or 'never').replace('T', ' ')}  change: {s.change}"]
        if s.turns:
            lines.append(f"  log: {s.turns} turns, thumbs up {s.thumbs_up} ({_number(s.up_rate)}%), thumbs down "
                         f"{s.thumbs_down} ({_number(s.down_rate)}%), {s.corrections} corrections, median latency "
                         f"{_number(s.median_latency_s)} s")
        else:
            lines.append("  log: no turns")
        for m in s.reports:
            lines.append(f"  report {m.report} · {m.cell} ({m.answers} answers): key-fact recall {_number(m.recall)}%, "
                         f"adherence {_number(m.adherence)}%, unsupported specifics {_number(m.unsupported)}%")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def stats_json(stats: list[VersionStats]) -> str:
    return json.dumps([s.as_dict() for s in stats], indent=2, ensure_ascii=False)


def _number(value) -> str:
    return "–" if value is None else f"{value:g}"


def plot_stats(stats: list[VersionStats], target) -> bool:
    """A PNG of each persona's figures over time, one point per version at its first sighting: thumbs-up rate
    and median latency from the log, and recall, adherence and unsupported specifics per report cell. `target`
    is a path or a binary file; False (and nothing written) when there is nothing to draw."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("thumbs-up rate (%)", lambda s: [(s.persona, s.up_rate)]),
              ("median latency (s)", lambda s: [(s.persona, s.median_latency_s)]),
              ("key-fact recall (%)", lambda s: [(f"{s.persona} · {m.cell}", m.recall) for m in s.reports]),
              ("persona adherence (%)", lambda s: [(f"{s.persona} · {m.cell}", m.adherence) for m in s.reports]),
              ("unsupported specifics (%)", lambda s: [(f"{s.persona} · {m.cell}", m.unsupported) for m in s.reports])]
    series = []
    for title, values in panels:
        lines: dict[str, list[tuple[datetime, float]]] = {}
        for s in stats:
            for label, value in values(s):
                if value is not None and s.first_seen is not None:
                    lines.setdefault(label, []).append((datetime.fromisoformat(s.first_seen), value))
        if lines:
            series.append((title, lines))
    if not series:
        return False
    figure, axes = plt.subplots(len(series), 1, figsize=(8, 2.6 * len(series)), dpi=100, squeeze=False)
    for axis, (title, lines) in zip(axes[:, 0], series):
        for label, points in lines.items():
            points.sort()
            axis.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
        axis.set_title(title, fontsize=10)
        axis.legend(fontsize=7, loc="best")
        axis.tick_params(axis="x", labelsize=7)
    figure.tight_layout()
    figure.savefig(target, format="png")
    plt.close(figure)
    return True


# The command line --------------------------------------------------------------------------------------

def stats_from_flags(args) -> int:
    """`tandem personas stats [ID]`: the figures per version as text or --json, and with --chart a PNG."""
    try:
        since = date.fromisoformat(args.since) if args.since else None
    except ValueError:
        raise TandemError(f"--since {args.since!r}: expected a date as YYYY-MM-DD") from None
    catalog = catalog_from_flags(args, strict=False)
    stats = version_stats(catalog, existing_log_from_flags(args), args.reports or [Path("reports")], args.id, since)
    print(stats_json(stats) if args.json else terminal_text(stats_text(stats) or "no persona versions found"))
    if args.chart is not None:
        drawn = plot_stats(stats, args.chart)
        print(f"chart: {args.chart}" if drawn else "chart: nothing to draw yet", file=sys.stderr)
    return 0
