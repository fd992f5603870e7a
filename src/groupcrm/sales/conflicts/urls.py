from django.urls import path

from groupcrm.sales.conflicts import views

app_name = "conflicts"
urlpatterns = [
    path("", views.conflict_list, name="list"),
    path("queue/", views.conflict_queue, name="queue"),
    path("new/", views.conflict_raise, name="raise"),
    path("notice/", views.notice, name="notice"),
    path("coordinate/", views.coordinate, name="coordinate"),
    path("<int:pk>/", views.conflict_detail, name="detail"),
    path("<int:pk>/withdraw/", views.conflict_withdraw, name="withdraw"),
]
