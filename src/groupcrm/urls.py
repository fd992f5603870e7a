from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from groupcrm.announcements import views as announcement_views
from groupcrm.api import api
from groupcrm.audit import views as audit_views
from groupcrm.core import views as core_views
from groupcrm.customers import views as customer_views
from groupcrm.integration import export_views
from groupcrm.integration import views as integration_views
from groupcrm.org import account_views
from groupcrm.org import views as org_views

accounts = [
    path("login/", account_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("2fa/verify/", account_views.two_factor_verify, name="two_factor_verify"),
    path("2fa/enrol/", account_views.two_factor_enrol, name="two_factor_enrol"),
    path(
        "password-reset/",
        auth_views.PasswordResetView.as_view(
            html_email_template_name=None,
            email_template_name="registration/password_reset_email.txt",
        ),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]

org = [
    path("", org_views.chart, name="chart"),
    path("units/", org_views.units, name="units"),
    path("units/new/", org_views.unit_create, name="unit_create"),
    path("units/<int:pk>/", org_views.unit_detail, name="unit"),
    path("units/<int:pk>/edit/", org_views.unit_edit, name="unit_edit"),
    path("units/<int:pk>/move/", org_views.unit_move, name="unit_move"),
    path("units/<int:pk>/toggle/", org_views.unit_toggle, name="unit_toggle"),
    path("users/", org_views.users, name="users"),
    path("users/new/", org_views.user_create, name="user_create"),
    path("users/<int:pk>/", org_views.user_detail, name="user"),
    path("users/<int:pk>/edit/", org_views.user_edit, name="user_edit"),
    path("users/<int:pk>/toggle/", org_views.user_toggle, name="user_toggle"),
    path("users/<int:pk>/reset-2fa/", org_views.user_reset_two_factor, name="user_reset_2fa"),
    path("users/<int:pk>/memberships/", org_views.membership_add, name="membership_add"),
    path("memberships/<int:pk>/remove/", org_views.membership_remove, name="membership_remove"),
    path("roles/", org_views.roles, name="roles"),
    path("roles/new/", org_views.role_create, name="role_create"),
    path("roles/<int:pk>/", org_views.role_edit, name="role_edit"),
]

announcements = [
    path("", announcement_views.announcement_list, name="list"),
    path("new/", announcement_views.announcement_create, name="create"),
    path("<int:pk>/", announcement_views.announcement_detail, name="detail"),
    path("<int:pk>/edit/", announcement_views.announcement_edit, name="edit"),
    path("<int:pk>/delete/", announcement_views.announcement_delete, name="delete"),
]

c = customer_views
customers = [
    path("", c.customer_list, name="list"),
    path("new/", c.customer_create, name="create"),
    path("pick/", c.customer_pick, name="pick"),
    path("export/", c.customer_export, name="export"),
    path("bulk/", c.customer_bulk, name="bulk"),
    path("views/", c.saved_view_create, name="saved_view_create"),
    path("views/<int:pk>/delete/", c.saved_view_remove, name="saved_view_delete"),
    path("<int:pk>/", c.customer_detail, name="detail"),
    path("<int:pk>/edit/", c.customer_edit, name="edit"),
    path("<int:pk>/move/", c.customer_move, name="move"),
    path("<int:pk>/hierarchy/", c.customer_hierarchy, name="hierarchy"),
    path("<int:pk>/history/", c.customer_history, name="history"),
    path("<int:pk>/follow/", c.customer_follow, name="follow"),
    path("<int:pk>/merge/", c.customer_merge, name="merge"),
    path("merges/<int:pk>/unmerge/", c.customer_unmerge, name="unmerge"),
    path("<int:pk>/relationships/", c.relationship_start, name="relationship_start"),
    path("<int:pk>/contacts/new/", c.contact_create, name="contact_create"),
    path("<int:pk>/followups/new/", c.followup_create, name="followup_create"),
    path("changes/", c.change_requests, name="changes"),
    path("changes/<int:pk>/decide/", c.change_request_decide, name="change_decide"),
    path("relationships/", c.relationship_list, name="relationships"),
    path("relationships/<int:pk>/", c.relationship_detail, name="relationship"),
    path("relationships/<int:pk>/edit/", c.relationship_edit, name="relationship_edit"),
    path("relationships/<int:pk>/assign/", c.relationship_assign, name="relationship_assign"),
    path("relationships/<int:pk>/claim/", c.relationship_claim, name="relationship_claim"),
    path("relationships/<int:pk>/release/", c.relationship_release, name="relationship_release"),
    path("relationships/<int:pk>/collaborators/", c.collaborator_set, name="collaborator_set"),
    path("pool/", c.pool, name="pool"),
    path("pool/rules/<int:bu_id>/", c.pool_rule_edit, name="pool_rule"),
    path("contacts/<int:pk>/edit/", c.contact_edit, name="contact_edit"),
    path("contacts/<int:pk>/reveal/", c.contact_reveal, name="contact_reveal"),
    path("contacts/<int:pk>/move/", c.contact_move, name="contact_move"),
    path("contacts/<int:pk>/delete/", c.contact_delete, name="contact_delete"),
    path("followups/", c.followup_list, name="followups"),
    path("followups/<int:pk>/", c.followup_detail, name="followup"),
    path("followups/<int:pk>/edit/", c.followup_edit, name="followup_edit"),
    path("followups/<int:pk>/delete/", c.followup_delete, name="followup_delete"),
]

integration = [
    path("", integration_views.job_list, name="jobs"),
    path("new/", integration_views.job_create, name="new"),
    path("sources/new/", integration_views.source_create, name="source_create"),
    path("sources/<int:pk>/trust/", integration_views.source_trust, name="source_trust"),
    path("rules/", integration_views.survivorship_rules, name="rules"),
    path("<int:pk>/", integration_views.job_detail, name="job"),
    path("<int:pk>/report/", integration_views.job_report, name="report"),
    path("<int:pk>/run/", integration_views.job_run, name="run"),
    path("quality/", integration_views.data_quality, name="quality"),
    path("duplicates/", integration_views.duplicates, name="duplicates"),
    path("duplicates/run/", integration_views.duplicates_run, name="duplicates_run"),
    path("duplicates/<int:pk>/", integration_views.duplicate_decide, name="duplicate_decide"),
    path(
        "duplicates/contacts/",
        integration_views.duplicates,
        {"entity": "contacts"},
        name="contact_duplicates",
    ),
    path(
        "duplicates/contacts/<int:pk>/",
        integration_views.duplicate_decide,
        {"entity": "contacts"},
        name="contact_duplicate_decide",
    ),
]

exports = [
    path("", export_views.export_list, name="list"),
    path("start/", export_views.export_begin, name="start"),
    path("<int:pk>/", export_views.export_detail, name="job"),
    path("<int:pk>/file/", export_views.export_download, name="file"),
]

system = [
    path("events/", core_views.events, name="events"),
    path("events/<uuid:pk>/retry/", core_views.event_retry, name="event_retry"),
]

urlpatterns = [
    path("", core_views.dashboard, name="dashboard"),
    path("healthz", core_views.healthz, name="healthz"),
    path("accounts/", include(accounts)),
    path("profile/", account_views.profile, name="profile"),
    path("profile/password/", account_views.password_change, name="password_change"),
    path("profile/2fa/disable/", account_views.two_factor_disable, name="two_factor_disable"),
    path("profile/tokens/", account_views.token_create, name="token_create"),
    path("profile/tokens/<int:pk>/revoke/", account_views.token_revoke, name="token_revoke"),
    path("notifications/", core_views.notifications, name="notifications"),
    path("notifications/read/", core_views.notifications_read, name="notifications_read"),
    path("org/", include((org, "org"))),
    path("announcements/", include((announcements, "announcements"))),
    path("customers/", include((customers, "customers"))),
    path("imports/", include((integration, "integration"))),
    path("exports/", include((exports, "exports"))),
    path("sales/", include("groupcrm.sales.urls")),
    path("sales/leads/", include("groupcrm.sales.leads.urls")),
    path("sales/conflicts/", include("groupcrm.sales.conflicts.urls")),
    path("sales/quotes/", include("groupcrm.sales.quotes.urls")),
    path("sales/contracts/", include("groupcrm.sales.contracts.urls")),
    path("sales/forecast/", include("groupcrm.sales.forecast.urls")),
    path("approvals/", include("groupcrm.approvals.urls")),
    path(
        "audit/",
        include(
            (
                [
                    path("", audit_views.log, name="log"),
                    path("access/", audit_views.access_log, name="access"),
                    path("<int:pk>/", audit_views.detail, name="detail"),
                ],
                "audit",
            )
        ),
    ),
    path("system/", include((system, "system"))),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("api/v1/", api.urls),
]

handler404 = "groupcrm.core.views.not_found"
