"""The group's default pipeline (集团默认销售流程) with its ten stages."""

from django.db import migrations

# (name, probability, outcome, fields required to enter)
DEFAULT_STAGES = [
    ("售前勘察", 5, "open", []),
    ("取得资格", 10, "open", []),
    ("需求分析", 20, "open", ["next_step"]),
    ("价值提议", 40, "open", ["next_step"]),
    ("确认决策者", 60, "open", ["decision_contacts"]),
    ("感觉分析", 70, "open", ["decision_contacts"]),
    ("提案/报价", 80, "open", ["amount", "decision_contacts"]),
    ("谈判", 90, "open", ["amount", "decision_contacts", "competitors"]),
    ("赢单", 100, "won", ["amount"]),
    ("输单", 0, "lost", []),
]


def create_default(apps, schema_editor):  # type: ignore[no-untyped-def]
    Pipeline = apps.get_model("sales", "Pipeline")
    Stage = apps.get_model("sales", "Stage")
    if Pipeline.objects.filter(bu__isnull=True).exists():
        return
    pipeline = Pipeline.objects.create(bu=None, name="集团默认销售流程")
    Stage.objects.bulk_create(
        Stage(
            pipeline=pipeline,
            name=name,
            order=order,
            probability=probability,
            outcome=outcome,
            required_fields=required,
        )
        for order, (name, probability, outcome, required) in enumerate(DEFAULT_STAGES, 1)
    )


def remove_default(apps, schema_editor):  # type: ignore[no-untyped-def]
    apps.get_model("sales", "Pipeline").objects.filter(bu__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("sales", "0001_initial")]

    operations = [migrations.RunPython(create_default, remove_default)]
