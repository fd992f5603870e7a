"""groupcrm duplicates run|list|merge|distinct|defer|unmerge|quality [--user USERNAME]

The duplicate review of the Duplicates and Data quality pages on the command line, through
the same services and selectors, with the named user's rights (see docs/dedup.md)."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.paginator import InvalidPage, Paginator
from django.utils.translation import gettext as _

from groupcrm.core.actor import Actor
from groupcrm.core.errors import DomainError
from groupcrm.core.management.acting import acting_actor, domain_error
from groupcrm.customers.merge import customer_unmerge
from groupcrm.customers.selectors import merge_list
from groupcrm.integration import matching
from groupcrm.integration.dedup import ConfigError
from groupcrm.integration.models import PairDecision
from groupcrm.integration.quality import quality_overview
from groupcrm.integration.templatetags.dedup import reason_agreement, reason_field


def _at_least_one(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(_("Give a whole number of at least 1."))
    return number


class Command(BaseCommand):
    help = (
        "Review duplicates as a named user: `run` the batch dedup, `list` the pairs to "
        "review, `merge`, `distinct` or `defer` one, `unmerge` a merge, show the data "
        "`quality` (see docs/dedup.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        common = argparse.ArgumentParser(add_help=False)
        common.add_argument("--user", default="admin", help="who acts (their rights apply)")
        entity = argparse.ArgumentParser(add_help=False)
        entity.add_argument("--entity", default=matching.CUSTOMERS, choices=list(matching.TARGETS))
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        actions.add_parser(
            "run", parents=[common, entity], help="look for duplicates now (group data steward)"
        )
        listing = actions.add_parser(
            "list", parents=[common, entity], help="the pairs you may review, best first"
        )
        listing.add_argument(
            "--status", default=PairDecision.Status.PENDING, choices=PairDecision.Status.values
        )
        listing.add_argument("--limit", type=_at_least_one, default=20, help="pairs per page")
        listing.add_argument("--page", type=_at_least_one, default=1)
        merge = actions.add_parser(
            "merge", parents=[common, entity], help="merge a pair, keeping one record"
        )
        merge.add_argument("pair", type=int, metavar="PAIR_ID")
        merge.add_argument("--keep", type=int, required=True, metavar="RECORD_ID")
        for name, text in (("distinct", "not a duplicate"), ("defer", "decide later")):
            decide = actions.add_parser(name, parents=[common, entity], help=text)
            decide.add_argument("pair", type=int, metavar="PAIR_ID")
        unmerge = actions.add_parser("unmerge", parents=[common], help="undo a merge")
        unmerge.add_argument("merge", type=int, metavar="MERGE_ID")
        actions.add_parser(
            "quality", parents=[common], help="data-quality scores and the worst records"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = acting_actor(options["user"])
        try:
            getattr(self, f"_{options['action']}")(actor, options)
        except DomainError as exc:
            raise domain_error(exc) from None

    def _run(self, actor: Actor, options: dict[str, Any]) -> None:
        try:
            result = matching.dedup_run(actor=actor, entity=options["entity"])
        except ConfigError as exc:  # records the engine cannot compare (too few values)
            raise CommandError(str(exc)) from None
        self.stdout.write(
            _(
                "%(pairs)d candidate pairs, %(new)d new, %(auto_merged)d merged automatically "
                "(%(labels)d earlier merges used as labels)."
            )
            % result
        )

    def _list(self, actor: Actor, options: dict[str, Any]) -> None:
        entity = options["entity"]
        queue = matching.review_queue(actor=actor, status=options["status"], entity=entity)
        pages = Paginator(queue, options["limit"])
        try:
            page = pages.page(options["page"])
        except InvalidPage:
            raise CommandError(
                _("There is no page %(page)d: the list has %(pages)d.")
                % {"page": options["page"], "pages": pages.num_pages}
            ) from None
        self.stdout.write(
            _("%(count)d pairs, page %(page)d of %(pages)d")
            % {"count": pages.count, "page": page.number, "pages": pages.num_pages}
        )
        if not pages.count:
            self.stdout.write(_("No pairs here."))
        for pair in page:
            self.stdout.write(
                f"#{pair.pk}  " + _("match probability %(p)s") % {"p": f"{pair.probability:.3f}"}
            )
            for record in (pair.left, pair.right):
                self.stdout.write(f"  {record.pk}  {_record_label(record, entity)}")
            self.stdout.write(
                "  "
                + "; ".join(
                    f"{reason_field(r['field'])} · {reason_agreement(r['agreement'])} "
                    f"×{r['bayes_factor']}"
                    for r in pair.reasons
                )
            )

    def _merge(self, actor: Actor, options: dict[str, Any]) -> None:
        entity, keep = options["entity"], options["keep"]
        pair = matching.pair_decide(
            actor=actor, pk=options["pair"], decision="merge", survivor_id=keep, entity=entity
        )
        kept = pair.left if keep == pair.left_id else pair.right
        merged = pair.right_id if keep == pair.left_id else pair.left_id
        # A contact merge is recorded on the kept contact's customer.
        customer_id = kept.customer_id if entity == matching.CONTACTS else kept.pk
        record = merge_list(actor=actor, customer_id=customer_id)[0]  # newest first
        self.stdout.write(
            _(
                "%(merged)d merged into %(kept)d (merge %(merge)d; undo it with "
                "`groupcrm duplicates unmerge %(merge)d`)."
            )
            % {"merged": merged, "kept": keep, "merge": record.pk}
        )

    def _distinct(self, actor: Actor, options: dict[str, Any]) -> None:
        self._decide(actor, options, "distinct")

    def _defer(self, actor: Actor, options: dict[str, Any]) -> None:
        self._decide(actor, options, "defer")

    def _decide(self, actor: Actor, options: dict[str, Any], decision: str) -> None:
        matching.pair_decide(
            actor=actor, pk=options["pair"], decision=decision, entity=options["entity"]
        )
        self.stdout.write(_("Decision saved."))

    def _unmerge(self, actor: Actor, options: dict[str, Any]) -> None:
        kept = customer_unmerge(actor=actor, merge_id=options["merge"])
        self.stdout.write(_("The merge was undone."))
        if kept:
            self.stdout.write(
                _("Changed since the merge and kept as they are: %(fields)s")
                % {"fields": ", ".join(kept)}
            )

    def _quality(self, actor: Actor, options: dict[str, Any]) -> None:
        figures = quality_overview(actor=actor)
        columns = " · ".join(
            [
                _("records"),
                _("average score"),
                _("complete") + " %",
                _("fresh") + " %",
                _("suspected duplicates"),
            ]
        )
        for title, rows, key in (
            (_("By unit"), figures["units"], "unit"),
            (_("By account manager"), figures["owners"], "owner"),
        ):
            self.stdout.write(f"{title} ({columns})")
            if not rows:
                self.stdout.write("  —")
            for row in rows:
                who = row[key]
                name = (
                    f"{who.name} ({who.code})"
                    if key == "unit"
                    else who.display_name or who.username
                )
                self.stdout.write(
                    f"  {name}: {row['records']} · {row['score']} · {row['complete']} · "
                    f"{row['fresh']} · {row['suspected_duplicates']}"
                )
        if figures["trend"]:
            self.stdout.write(_("Average score over 90 days"))
            for point in figures["trend"]:
                self.stdout.write(f"  {point['day']}: {point['count']}")
        self.stdout.write(_("Worst records to fix"))
        if not figures["worst"]:
            self.stdout.write("  " + _("Nothing to fix."))
        for customer in figures["worst"]:
            self.stdout.write(f"  {customer.pk}  {customer.legal_name}: {customer.quality_score}")


def _record_label(record: Any, entity: str) -> str:
    """A customer by legal name and credit code; a contact by name and customer (the
    contact's phones and email are not shown)."""
    if entity == matching.CONTACTS:
        return f"{record.name} · {record.customer.legal_name}"
    return f"{record.legal_name} · {record.uscc or '—'}"
