from django.urls import path

from groupcrm.sales.quotes import views

app_name = "quotes"
urlpatterns = [
    path("", views.quote_list, name="list"),
    path("export/", views.quote_list_export, name="export"),
    path("new/", views.quote_create, name="create"),
    path("<int:pk>/", views.quote_detail, name="detail"),
    path("<int:pk>/edit/", views.quote_edit, name="edit"),
    path("<int:pk>/delete/", views.quote_delete, name="delete"),
    path("<int:pk>/submit/", views.quote_submit, name="submit"),
    path("<int:pk>/withdraw/", views.quote_withdraw, name="withdraw"),
    path("<int:pk>/send/", views.quote_send, name="send"),
    path("<int:pk>/accept/", views.quote_accept, name="accept"),
    path("<int:pk>/reject/", views.quote_reject, name="reject"),
    path("<int:pk>/revise/", views.quote_revise, name="revise"),
    path("<int:pk>/print/", views.quote_print, name="print"),
    path("<int:pk>/pdf/", views.quote_download, name="pdf"),
    path("products/", views.product_list, name="products"),
    path("products/new/", views.product_create, name="product_create"),
    path("products/<int:pk>/edit/", views.product_edit, name="product_edit"),
    path("price-lists/", views.price_list_list, name="price_lists"),
    path("price-lists/new/", views.price_list_create, name="price_list_create"),
    path("price-lists/<int:pk>/edit/", views.price_list_edit, name="price_list_edit"),
    path("settings/", views.quote_settings, name="settings"),
]
