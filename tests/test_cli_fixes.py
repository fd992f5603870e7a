"""The command line after review: dedup-file refuses bad configurations with a message
(never a traceback) and writes honest cluster ids; `groupcrm import` finds the user's
unit; `groupcrm duplicates` runs, lists, merges, unmerges and shows the data quality as a
named user, through the same services as the pages; messages speak the user's language."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from groupcrm.core.actor import Actor
from groupcrm.core.testing.personas import Personas, perms
from groupcrm.customers.models import Customer
from groupcrm.integration.models import DuplicatePair, ImportJob
from groupcrm.org.models import Membership
from groupcrm.org.services import role_create, user_create
from tests.test_dedup import CONFIG, companies
from tests.test_integration import write_csv, zoho_file

FIELD = '[[fields]]\nname = "company"\nkind = "company_name"\n'


def dedup_file(tmp_path: Path, config: str, *, out: Path | None = None) -> str:
    rows, _truth = companies(n=60, dupes=8, seed=4)
    source = tmp_path / "companies.csv"
    with source.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["id", "company", "tel", "addr"])
        writer.writeheader()
        writer.writerows(rows)
    (tmp_path / "c.toml").write_text(config, encoding="utf-8")
    stdout = io.StringIO()
    call_command(
        "dedup-file",
        str(source),
        id_column="id",
        config=str(tmp_path / "c.toml"),
        out=str(out or tmp_path / "pairs.csv"),
        stdout=stdout,
    )
    return stdout.getvalue()


@pytest.mark.parametrize(
    ("config", "said"),
    [
        # A field that is not a table raised AttributeError.
        ('fields = ["company"]\n', ["entry 1", "[[fields]]"]),
        # Misspelt keys were ignored without a word.
        ("treshold = 0.5\n" + FIELD, ["treshold", "threshold, cluster_threshold"]),
        (FIELD + "treshold = 0.5\n", ["treshold", "field 1", "name, kind"]),
        (FIELD + 'kind_ = "text"\n', ["kind_", "name, kind"]),
        # A rule that is not a list was read letter by letter.
        ('blocking = ["company"]\n' + FIELD, ["list of rules", '["tel"]']),
        ("blocking = [[]]\n" + FIELD, ["list of rules"]),
        # A derived key of another kind of field failed inside Splink.
        ('blocking = [["company:pinyin"]]\n' + FIELD, ["company:pinyin"]),
        (FIELD + FIELD, ["company", "twice"]),
    ],
)
def test_dedup_file_refuses_bad_configurations_with_a_message(
    tmp_path: Path, config: str, said: list[str]
) -> None:
    with translation.override("en"), pytest.raises(CommandError) as exc:
        dedup_file(tmp_path, config)
    for text in said:
        assert text in str(exc.value)
    assert not (tmp_path / "pairs.csv").exists()


def test_dedup_file_refuses_missing_input_and_unwritable_output(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text(CONFIG, encoding="utf-8")
    with translation.override("en"), pytest.raises(CommandError, match="no such file"):
        call_command(
            "dedup-file",
            str(tmp_path / "absent.csv"),
            id_column="id",
            config=str(tmp_path / "c.toml"),
            out=str(tmp_path / "o.csv"),
        )
    with translation.override("en"), pytest.raises(CommandError, match="cannot be written"):
        dedup_file(tmp_path, CONFIG, out=tmp_path / "no-such-folder" / "pairs.csv")


def test_dedup_file_names_a_cluster_only_when_both_records_are_in_it(tmp_path: Path) -> None:
    # A cluster threshold above many pairs' probability: those pairs join no cluster.
    cut = 0.999
    with translation.override("en"):
        said = dedup_file(tmp_path, f"cluster_threshold = {cut}\n" + CONFIG)
    rows = list(csv.DictReader((tmp_path / "pairs.csv").open(encoding="utf-8")))
    # The clusters are the connected parts of the pairs at or above the cluster threshold.
    part: dict[str, str] = {}

    def root(node: str) -> str:
        while part.get(node, node) != node:
            node = part[node]
        return node

    for row in rows:
        if float(row["match_probability"]) >= cut:
            part[root(row["id_l"])] = root(row["id_r"])
    together = [root(r["id_l"]) == root(r["id_r"]) for r in rows]
    assert True in together and False in together  # both cases are in the file
    for row, same in zip(rows, together, strict=True):
        assert bool(row["cluster_id"]) == same, row
    clusters = {r["cluster_id"] for r in rows if r["cluster_id"]}
    assert f"in {len(clusters)} clusters" in said


# --- groupcrm import ------------------------------------------------------------------------


def import_file(path: Path, user: str, *extra: str, source: str = "Zoho") -> str:
    out = io.StringIO()
    call_command(
        "import",
        str(path),
        "--source",
        source,
        "--kind",
        "zoho",
        "--user",
        user,
        *extra,
        stdout=out,
        stderr=io.StringIO(),
    )
    return out.getvalue()


@pytest.mark.django_db
def test_import_goes_to_the_unit_the_user_works_for(personas: Personas, tmp_path: Path) -> None:
    with translation.override("en"):
        said = import_file(zoho_file(tmp_path), "mfg_manager")
    job = ImportJob.objects.get()
    assert job.bu == personas.units["mfg"] and "3 created" in said
    # Someone who works for two units has to say which; the message lists the choices.
    Membership.objects.create(
        user=personas.mfg_manager, bu=personas.units["fin"], role=personas.roles["manager"]
    )
    with translation.override("en"), pytest.raises(CommandError) as exc:
        import_file(zoho_file(tmp_path), "mfg_manager")
    for text in ("--bu", "mfg (华夏制造)", "mfg-sh (上海团队)", "fin (华夏金融)"):
        assert text in str(exc.value)
    assert ImportJob.objects.count() == 1
    with translation.override("en"):
        import_file(zoho_file(tmp_path), "mfg_manager", "--bu", "fin", "--dry-run")
    assert ImportJob.objects.latest("pk").bu == personas.units["fin"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("user", "extra", "message"),
    [
        ("ghost", [], "No active user is called “ghost”"),
        ("mfg_manager", ["--bu", "nowhere"], "No unit has the code “nowhere”"),
        # An account manager works for one unit but may not import: the service says so.
        ("mfg_am", [], "You do not have permission"),
        # An unknown job raised DoesNotExist.
        ("mfg_manager", ["--resume", "999999"], "Not found"),
    ],
)
def test_import_refuses_with_a_clear_message(
    personas: Personas, tmp_path: Path, user: str, extra: list[str], message: str
) -> None:
    with translation.override("en"), pytest.raises(CommandError, match=message):
        import_file(zoho_file(tmp_path), user, *extra)
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_import_resumes_a_job_the_user_may_see(personas: Personas, tmp_path: Path) -> None:
    from groupcrm.integration.services import import_start, source_create

    admin = personas.actor("admin")
    job = import_start(
        actor=personas.actor("mfg_manager"),
        source_id=source_create(actor=admin, name="Zoho", kind="zoho").pk,
        bu_id=personas.units["mfg"].pk,
        entity="customers",
        path=zoho_file(tmp_path),
        filename="zoho.csv",
        run=False,
    )
    resume = ["--resume", str(job.pk)]
    # 华夏金融's manager does not see 华夏制造's jobs.
    with translation.override("en"), pytest.raises(CommandError, match="Not found"):
        call_command("import", *resume, "--user", "fin_manager", stderr=io.StringIO())
    # Someone who sees the unit's imports but may not import goes on with none of them.
    system = Actor.system("tests")
    watcher = role_create(
        actor=system,
        name="watcher",
        code="watcher",
        permissions=perms("integration", actions=("view",)),
        data_scope="subtree",
    )
    user_create(
        actor=system,
        username="watcher",
        password="x-Secret-2026",
        bu_id=personas.units["mfg"].pk,
        role_id=watcher.pk,
    )
    with translation.override("en"), pytest.raises(CommandError, match="permission"):
        call_command("import", *resume, "--user", "watcher", stderr=io.StringIO())
    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.PENDING
    out = io.StringIO()
    with translation.override("en"):
        call_command("import", *resume, "--user", "mfg_manager", stdout=out, stderr=io.StringIO())
    assert f"Import job {job.pk} (Done): 4 rows, 3 created" in out.getvalue()


# --- groupcrm duplicates --------------------------------------------------------------------

COMPANIES = ["华润置地", "长江精密机械", "东方物流", "昆仑能源", "泰山重工", "黄河食品"]


def duplicates(*args: str, user: str = "admin") -> str:
    out = io.StringIO()
    call_command("duplicates", *args, "--user", user, stdout=out)
    return out.getvalue()


def manufacturing_score(said: str) -> float:
    return float(re.search(r"华夏制造 \(mfg\): \d+ · ([\d.]+)", said).group(1))  # type: ignore[union-attr]


@pytest.fixture
def two_crms(personas: Personas, tmp_path: Path) -> None:
    """A 纷享销客 export imported into 华夏制造 and a Zoho export of the same companies
    (which knows their industry) into 华夏金融, each by its unit's manager, by CLI."""
    fx = write_csv(
        tmp_path / "客户.csv",
        ["客户编号", "客户名称", "详细地址"],
        [
            [f"FX{i}", f"{n}有限公司", f"上海市浦东新区张江路{i + 1}号"]
            for i, n in enumerate(COMPANIES)
        ],
        "gb18030",
    )
    zoho = write_csv(
        tmp_path / "Accounts.csv",
        ["Record Id", "Account Name", "Billing Street", "Industry"],
        [
            [f"z{i}", f"{n} 有限责任公司", f"上海市浦东新区张江路{i + 1}号", "房地产业"]
            for i, n in enumerate(COMPANIES)
        ],
    )
    out = io.StringIO()
    call_command(
        "import",
        str(fx),
        "--source",
        "纷享销客",
        "--kind",
        "fxiaoke",
        "--user",
        "mfg_manager",
        stdout=out,
        stderr=io.StringIO(),
    )
    import_file(zoho, "fin_manager")
    assert Customer.objects.count() == 12


@pytest.mark.django_db
def test_a_steward_finds_merges_and_unmerges_duplicates_by_cli(two_crms: None) -> None:
    with translation.override("en"):
        assert "new" in duplicates("run")
        before = manufacturing_score(duplicates("quality"))
        listing = duplicates("list", "--limit", "2")
        assert listing.startswith(f"{DuplicatePair.objects.count()} pairs, page 1 of")
        pairs = [int(i) for i in re.findall(r"^#(\d+)", listing, re.M)]
        assert len(pairs) == 2
        # Best first, with the probability and the reasons per field.
        best = DuplicatePair.objects.order_by("-probability", "pk")[0]
        assert pairs[0] == best.pk
        assert f"match probability {best.probability:.3f}" in listing
        assert "name · similar ×" in listing or "name · same ×" in listing
        assert "address · same ×" in listing
        merges = []
        for pk in pairs:
            pair = DuplicatePair.objects.get(pk=pk)
            said = duplicates("merge", str(pk), "--keep", str(pair.left_id))
            merge_id = int(re.search(r"merge (\d+);", said).group(1))  # type: ignore[union-attr]
            assert f"{pair.right_id} merged into {pair.left_id}" in said
            assert Customer.objects.get(pk=pair.right_id).status == "merged"
            merges.append((merge_id, pair))
        assert manufacturing_score(duplicates("quality")) > before
        merge_id, pair = merges[0]
        assert "The merge was undone." in duplicates("unmerge", str(merge_id))
        assert Customer.objects.get(pk=pair.right_id).status == "active"
        assert Customer.objects.filter(status="merged").count() == 1
        later = duplicates("quality")
        assert before < manufacturing_score(later)
        assert "Worst records to fix" in later and "华夏金融 (fin)" in later
        # Not a duplicate: remembered, and no longer listed.
        third = duplicates("list", "--limit", "1")
        pk = int(re.search(r"^#(\d+)", third, re.M).group(1))  # type: ignore[union-attr]
        assert "Decision saved." in duplicates("distinct", str(pk))
        assert DuplicatePair.objects.get(pk=pk).status == "distinct"
        assert f"#{pk} " not in duplicates("list", "--limit", "50")
        assert f"#{pk} " in duplicates("list", "--status", "distinct")


@pytest.mark.django_db
def test_a_units_steward_sees_only_its_own_pairs(personas: Personas, two_crms: None) -> None:
    duplicates("run")
    with translation.override("en"):
        # Every pair spans 华夏制造 and 华夏金融: the group's data steward decides them.
        assert duplicates("list", user="mfg_manager").startswith("0 pairs")
        assert "No pairs here." in duplicates("list", user="mfg_manager")


@pytest.mark.django_db
def test_duplicates_refuses_bad_input_with_a_clear_message(
    personas: Personas, two_crms: None
) -> None:
    duplicates("run")
    pair = DuplicatePair.objects.order_by("-probability")[0]
    cases = [
        (["list"], "ghost", "No active user is called “ghost”"),
        (["list"], "mfg_am", "You do not have permission"),
        (["quality"], "nobody", "You do not have permission"),
        (["run"], "mfg_manager", "Only a group-wide data steward"),
        (["run", "--entity", "orders"], "admin", "invalid choice"),
        (["list", "--limit", "0"], "admin", "at least 1"),
        (["list", "--page", "99"], "admin", "There is no page 99"),
        (["merge", "abc", "--keep", "1"], "admin", "invalid int value"),
        (["merge", str(pair.pk)], "admin", "--keep"),
        (["merge", "999999", "--keep", "1"], "admin", "Not found"),
        (["merge", str(pair.pk), "--keep", "999999"], "admin", "Keep one of the two records"),
        # The pair spans two units: a unit's steward may not decide it.
        (["distinct", str(pair.pk)], "mfg_manager", "Not found"),
        (["unmerge", "999999"], "admin", "Not found"),
    ]
    for args, user, message in cases:
        with translation.override("en"), pytest.raises(CommandError) as exc:
            duplicates(*args, user=user)
        assert message in str(exc.value), (args, user, str(exc.value))
    assert DuplicatePair.objects.get(pk=pair.pk).status == "pending"
    with translation.override("en"):
        said = duplicates("merge", str(pair.pk), "--keep", str(pair.left_id))
    merge_id = re.search(r"merge (\d+);", said).group(1)  # type: ignore[union-attr]
    duplicates("unmerge", merge_id)
    with translation.override("en"), pytest.raises(CommandError, match="already undone"):
        duplicates("unmerge", merge_id)


@pytest.mark.django_db
def test_commands_speak_the_configured_language(personas: Personas, two_crms: None) -> None:
    """As any Django command: without an active language, LANGUAGE_CODE (简体中文)."""
    duplicates("run")
    translation.deactivate()
    with pytest.raises(CommandError, match="未找到该内容"):
        duplicates("merge", "999999", "--keep", "1")
    pk = DuplicatePair.objects.order_by("pk")[0].pk
    assert "处理结果已保存" in duplicates("distinct", str(pk))


@pytest.mark.django_db
def test_contact_duplicates_by_cli(personas: Personas) -> None:
    from groupcrm.customers.models import Contact
    from tests.test_dedup_contacts import _master, _pair

    made = _master(personas)
    with translation.override("en"):
        duplicates("run", "--entity", "contacts")
        pair = _pair(made["zw"], made["zw2"])
        listing = duplicates("list", "--entity", "contacts", "--limit", "50")
        assert f"#{pair.pk} " in listing
        assert f"  {made['zw'].pk}  {made['zw'].name} · {made['zw'].customer.legal_name}" in listing
        assert "mobile · same ×" in listing
        said = duplicates(
            "merge", str(pair.pk), "--keep", str(pair.left_id), "--entity", "contacts"
        )
        assert not Contact.objects.filter(pk=pair.right_id).exists()
        merge_id = re.search(r"merge (\d+);", said).group(1)  # type: ignore[union-attr]
        assert "The merge was undone." in duplicates("unmerge", merge_id)
        assert Contact.objects.filter(pk=pair.right_id).exists()
