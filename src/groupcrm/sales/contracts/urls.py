from django.urls import path

from groupcrm.sales.contracts import views

app_name = "contracts"
urlpatterns = [
    path("", views.contract_list, name="list"),
    path("export/", views.contract_list_export, name="export"),
    path("new/", views.contract_create, name="create"),
    path("<int:pk>/", views.contract_detail, name="detail"),
    path("<int:pk>/edit/", views.contract_edit, name="edit"),
    path("<int:pk>/plan/", views.contract_plan, name="plan"),
    path("<int:pk>/payments/", views.payment_record, name="payment"),
    path("<int:pk>/activate/", views.contract_activate, name="activate"),
    path("<int:pk>/cancel/", views.contract_cancel, name="cancel"),
    path("<int:pk>/delete/", views.contract_delete, name="delete"),
    path("receivables/", views.receivables, name="receivables"),
    path("receivables/export/", views.receivables_list_export, name="receivables_export"),
    path("expenses/", views.expense_list, name="expenses"),
    path("expenses/new/", views.expense_create, name="expense_create"),
    path("expenses/<int:pk>/", views.expense_detail, name="expense_detail"),
    path("expenses/<int:pk>/edit/", views.expense_edit, name="expense_edit"),
    path("expenses/<int:pk>/submit/", views.expense_submit, name="expense_submit"),
    path("expenses/<int:pk>/delete/", views.expense_delete, name="expense_delete"),
]
