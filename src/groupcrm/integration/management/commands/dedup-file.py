"""groupcrm dedup-file INPUT.csv --id-column COL --config CONFIG.toml --out PAIRS.csv"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from groupcrm.integration.dedup import ConfigError, DedupConfig, find_pairs, frame
from groupcrm.integration.reader import (
    FileError,
    open_table,
    uncomputed_columns,
    uncomputed_message,
)


def reasons_text(reasons: list[dict[str, Any]]) -> str:
    return "; ".join(f"{r['field']}={r['agreement']} (×{r['bayes_factor']})" for r in reasons)


class Command(BaseCommand):
    help = "Find duplicate rows in any CSV or XLSX file (see docs/dedup.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("input", type=Path)
        parser.add_argument("--id-column", required=True)
        parser.add_argument("--config", required=True, type=Path)
        parser.add_argument("--out", required=True, type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        source, out_path = Path(options["input"]), Path(options["out"])
        if not source.is_file():
            raise CommandError(_("%(path)s: no such file") % {"path": source})
        try:
            config = DedupConfig.from_toml(Path(options["config"]))
            table = open_table(source)
            missing = [f.name for f in config.fields if f.name not in table.headers]
            if options["id_column"] not in table.headers:
                missing.insert(0, options["id_column"])
            if missing:
                raise ConfigError(
                    _("Columns not in the file: %(columns)s") % {"columns": ", ".join(missing)}
                )
            uncomputed: set[str] = set()  # columns with a formula no program computed

            def rows() -> Iterator[dict[str, str]]:
                for _number, values in table.rows:
                    uncomputed.update(uncomputed_columns(values))
                    yield values

            data = frame(rows(), options["id_column"], config)
            pairs = find_pairs(data, config)
        except (ConfigError, FileError) as exc:
            raise CommandError(str(exc)) from None
        for column in sorted(uncomputed):
            # Read as empty: the pairs are still written, without what the column held.
            self.stderr.write(uncomputed_message(column))
        try:
            out = out_path.open("w", newline="", encoding="utf-8")
        except OSError as exc:
            raise CommandError(
                _("%(path)s cannot be written: %(error)s")
                % {"path": out_path, "error": exc.strerror}
            ) from None
        with out:
            writer = csv.writer(out)
            # cluster_id is empty when the two records are not in one cluster (a pair
            # below cluster_threshold, not linked through other pairs either).
            writer.writerow(
                ["id_l", "id_r", "match_probability", "match_weight", "cluster_id", "reasons"]
            )
            for p in pairs:
                writer.writerow(
                    [p.left, p.right, p.probability, p.weight, p.cluster, reasons_text(p.reasons)]
                )
        self.stdout.write(
            _(
                "%(rows)d rows, %(pairs)d duplicate pairs in %(clusters)d clusters → %(path)s "
                "(%(seconds).1fs)"
            )
            % {
                "rows": len(data),
                "pairs": len(pairs),
                "clusters": len({p.cluster for p in pairs if p.cluster}),
                "path": out_path,
                "seconds": time.monotonic() - started,
            }
        )
