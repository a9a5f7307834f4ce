"""URL routes of the project."""

from django.contrib import admin
from django.urls import include, path

from marketplace.health import healthz
from marketplace.metrics import metrics
from marketplace.throttle import AdminLoginForm

# The admin's log-in is throttled like the site's (every other admin page already requires staff).
admin.site.login_form = AdminLoginForm

handler500 = "marketplace.errors.server_error"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("", include("jobs.urls")),
]
