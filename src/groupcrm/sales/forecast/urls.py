from django.urls import path

from groupcrm.sales.forecast import views

app_name = "forecast"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("export/", views.dashboard_export, name="export"),
    path("refresh/", views.refresh, name="refresh"),
    path("group-pipeline/", views.rollup, name="rollup"),
    path("quotas/", views.quota_grid, name="quotas"),
    path("quotas/import/", views.quota_import, name="quota_import"),
    path("quotas/<int:pk>/", views.quota_edit, name="quota"),
    path("quotas/<int:pk>/delete/", views.quota_delete, name="quota_delete"),
    path("commission/", views.commission, name="commission"),
    path("commission/export/", views.commission_export, name="commission_export"),
    path("commission/rules/new/", views.rule_create, name="rule_create"),
    path("commission/rules/<int:pk>/edit/", views.rule_edit, name="rule_edit"),
    path("commission/rules/<int:pk>/delete/", views.rule_delete, name="rule_delete"),
    path("opportunities/<int:pk>/splits/", views.opportunity_splits, name="splits"),
]
